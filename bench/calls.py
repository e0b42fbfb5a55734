"""Count real AWS API calls made through boto3 clients, with botocore's ``before-call`` hook.

Counting happens on the client, one count per API call (botocore's own retries are not
separate calls here; the @connections client makes one attempt by configuration anyway).
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from typing import Any

__all__ = ["BATCH_SIZES", "CONNECTIONS_PER_USER", "CallCounter", "measure_calls", "request_units"]


class CallCounter:
    """Thread-safe ``"<service>.<Operation>" -> count`` for every client ``attach`` was given."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # table name -> sort key attribute of its local index (a write of an item with it is
        # billed again for the index).
        self.local_index_keys: dict[str, str] = {}
        self._counts: Counter[str] = Counter()
        self._units: dict[str, float] = {"read": 0.0, "write": 0.0}

    def attach(self, client: Any) -> Any:
        """Count every call ``client`` makes from now on; returns the client."""
        service_id = client.meta.service_model.service_id.hyphenize()
        client.meta.events.register(f"before-call.{service_id}", self._on_call)
        return client

    def _on_call(self, model: Any, params: dict[str, Any] | None = None, **_: Any) -> None:
        service = model.service_model.service_name
        reads, writes = (0.0, 0.0)
        if service == "dynamodb":  # ``params`` is the serialized request; DynamoDB's body is JSON
            body = json.loads((params or {}).get("body") or b"{}")
            lsi_key = self.local_index_keys.get(str(body.get("TableName")))
            reads, writes = request_units(model.name, body, local_index_key=lsi_key)
        with self._lock:
            self._counts[f"{service}.{model.name}"] += 1
            self._units["read"] += reads
            self._units["write"] += writes

    def units(self) -> dict[str, float]:
        """DynamoDB read and write request units so far (see ``request_units``)."""
        with self._lock:
            return dict(self._units)

    def count(self, key: str) -> int:
        """Calls of one ``"<service>.<Operation>"``, e.g. ``"dynamodb.Query"``."""
        with self._lock:
            return self._counts[key]

    def snapshot(self) -> dict[str, int]:
        """Every count so far."""
        with self._lock:
            return dict(self._counts)

    def reset(self) -> None:
        """Start counting from zero."""
        with self._lock:
            self._counts.clear()
            self._units = {"read": 0.0, "write": 0.0}


_READS = {"Query", "GetItem", "BatchGetItem", "Scan"}
_WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"}


def request_units(
    operation: str, params: dict[str, Any], *, local_index_key: str | None = None
) -> tuple[float, float]:
    """On-demand (read, write) request units one DynamoDB call is billed, for small items.

    Assumes what holds for these tables: items under 1 KB, a query's result under 4 KB. An
    eventually consistent read is half a unit, a consistent one a whole unit; batch calls are
    billed per item; a failed conditional write still costs its unit; a PutItem of an item that
    has the table's local index sort key (``local_index_key``) costs one more, for the index.
    """
    if operation in _READS:
        if operation == "BatchGetItem":
            return sum(
                len(request["Keys"]) * (1.0 if request.get("ConsistentRead") else 0.5)
                for request in params.get("RequestItems", {}).values()
            ), 0.0
        return (1.0 if params.get("ConsistentRead") else 0.5), 0.0
    if operation in _WRITES:
        if operation == "BatchWriteItem":
            return 0.0, float(sum(len(requests) for requests in params.get("RequestItems", {}).values()))
        if operation == "PutItem" and local_index_key and local_index_key in params.get("Item", {}):
            return 0.0, 2.0
        return 0.0, 1.0
    return 0.0, 0.0


BATCH_SIZES = (1, 10, 100)
CONNECTIONS_PER_USER = (1, 3, 10)
_OPERATIONS = {
    "dynamodb_reads": ("dynamodb.Query", "dynamodb.GetItem", "dynamodb.BatchGetItem"),
    "dynamodb_writes": (
        "dynamodb.DeleteItem",
        "dynamodb.PutItem",
        "dynamodb.UpdateItem",
        "dynamodb.BatchWriteItem",
    ),
    "posts": ("apigatewaymanagementapi.PostToConnection",),
}


def measure_calls(rig: Any, progress: Any) -> list[dict[str, Any]]:
    """AWS calls per event, counted: every (load, connections per user, events) point, both sides.

    A burst is one user's events (a bulk import of food logs); a uniform load spreads them over
    as many users as there are events. Events reach the dispatcher in SQS batches of 10.
    """
    from bench.workload import Workload

    rows = []
    for per_user in CONNECTIONS_PER_USER:
        workload = Workload(rig.dynamodb, rig.table, users=max(BATCH_SIZES), per_user=per_user)
        for load in ("burst", "uniform"):
            for events in BATCH_SIZES:
                for side, run in (("baseline", rig.run_baseline), ("ours", rig.run_ours)):
                    envelopes = workload.events(events, burst=load == "burst")
                    rig.counter.reset()
                    run(envelopes)
                    row: dict[str, Any] = {
                        "side": side,
                        "load": load,
                        "connections_per_user": per_user,
                        "events": events,
                    }
                    counts = rig.counter.snapshot()
                    units = rig.counter.units()
                    row["read_units_per_event"] = units["read"] / events
                    row["write_units_per_event"] = units["write"] / events
                    for name, operations in _OPERATIONS.items():
                        row[f"{name}_per_event"] = sum(counts.get(op, 0) for op in operations) / events
                    rows.append(row)
        progress(f"AWS calls counted for {per_user} connection(s) per user")
    return rows
