"""Ours and the baseline side by side on the same clients, table and @connections fake.

Both sides use boto3 clients with the same configuration (``clients.py``), each counted by a
``CallCounter``, so throughput and call counts compare code paths, not client settings.
"""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3

from bench.baseline import publish_user_event
from bench.calls import CallCounter
from bench.workload import Workload, sqs_batches
from healthcoach_realtime.clients import _DEFAULT_CONFIG, _MANAGEMENT_CONFIG
from healthcoach_realtime.connections import ConnectionStore
from healthcoach_realtime.dead_letters import DeadLetterQueue
from healthcoach_realtime.dispatch.batch import MAX_WORKERS, dispatch_batch
from healthcoach_realtime.dispatch.deliver import deliver_all
from healthcoach_realtime.dispatch.parse import DispatchEvent, parse_batch
from healthcoach_realtime.dispatch.plan import DISPATCH_RETRY, group_by_user
from healthcoach_realtime.history.store import HistoryStore
from healthcoach_realtime.local.provision import create_connections_table, create_history_table
from healthcoach_realtime.observability import logger, metrics

__all__ = ["Rig"]

# The guide's Promise.all is unbounded; 32 threads is as many as the client's connection pool.
BASELINE_WORKERS = 32


class Rig:
    """Clients on moto (``aws_endpoint``) and the fake (``ws_endpoint``), a fresh table."""

    def __init__(self, aws_endpoint: str, ws_endpoint: str) -> None:
        self.counter = CallCounter()
        session = boto3.Session(
            aws_access_key_id="bench",
            aws_secret_access_key="bench",  # noqa: S106 (the emulator and the fake accept any)
            region_name="us-east-1",
        )
        self.dynamodb: Any = self.counter.attach(
            session.client("dynamodb", endpoint_url=aws_endpoint, config=_DEFAULT_CONFIG)
        )
        self.management: Any = self.counter.attach(
            session.client("apigatewaymanagementapi", endpoint_url=ws_endpoint, config=_MANAGEMENT_CONFIG)
        )
        sqs: Any = session.client("sqs", endpoint_url=aws_endpoint)
        self.table = f"bench-connections-{uuid.uuid4().hex[:8]}"
        create_connections_table(self.dynamodb, self.table)
        dlq_url = sqs.create_queue(QueueName=f"bench-dlq-{uuid.uuid4().hex[:8]}")["QueueUrl"]
        self.store = ConnectionStore(self.dynamodb, self.table)
        self.dead_letters = DeadLetterQueue(sqs, dlq_url, origin="bench")
        history_table = f"bench-history-{uuid.uuid4().hex[:8]}"
        create_history_table(self.dynamodb, history_table)
        self.counter.local_index_keys[history_table] = "seq"  # the bySeq index
        self.history = HistoryStore(self.dynamodb, history_table)
        self.executor = ThreadPoolExecutor(max_workers=BASELINE_WORKERS)
        self.network_delay: dict[str, float] = {}  # service -> seconds added to each call
        for client in (self.dynamodb, self.management):
            client.meta.events.register("before-send", self._wait_for_the_network)
        self._log_level = logger.log_level
        logger.setLevel("WARNING")  # one INFO line per batch would be the benchmark's output

    def _wait_for_the_network(self, request: Any, **_: Any) -> None:
        """Sleep (releasing the GIL, as a socket wait does) for the modeled round trip, if any."""
        service = "apigatewaymanagementapi" if "@connections" in request.url else "dynamodb"
        delay = self.network_delay.get(service, 0.0)
        if delay:
            time.sleep(delay)

    def run_ours(self, envelopes: list[dict[str, Any]]) -> None:
        """The dispatcher over the SQS batches these envelopes arrive in."""
        for batch in sqs_batches(envelopes):
            response = dispatch_batch(
                batch,
                store=self.store,
                management=self.management,
                dead_letters=self.dead_letters,
                history=self.history,
            )
            metrics.clear_metrics()  # not flushed to stdout: nothing reads them here
            if response["batchItemFailures"]:
                raise RuntimeError(f"dispatcher reported failures: {response}")

    def run_posts_only(self, envelopes: list[dict[str, Any]], workload: Workload) -> None:
        """The ceiling of any dispatcher posting as ours does: the same batches, parse and
        concurrent posts, with every user's connections already known and nothing kept, so no
        DynamoDB call at all. No dispatcher can deliver faster with these clients on this machine."""
        for batch in sqs_batches(envelopes):
            events = [e for e in parse_batch(batch) if isinstance(e, DispatchEvent)]
            targets = [
                (connection_id, user_events)
                for user, user_events in group_by_user(events).items()
                for connection_id in workload.connection_ids(user)
            ]
            with ThreadPoolExecutor(max_workers=MAX_WORKERS) as executor:
                deliveries = deliver_all(self.management, targets, executor=executor, policy=DISPATCH_RETRY)
            if len(deliveries) != len(events) * workload.per_user:
                raise RuntimeError(f"posts only: {len(deliveries)} deliveries for {len(events)} events")

    def run_baseline(self, envelopes: list[dict[str, Any]]) -> None:
        """``publishUserEvent`` once per event, as each API request of the guide awaits it."""
        for e in envelopes:
            event = {"type": e["detail-type"], "data": e["detail"]["data"]}
            publish_user_event(
                e["detail"]["userId"],
                event,
                dynamodb=self.dynamodb,
                table=self.table,
                management=self.management,
                executor=self.executor,
            )

    def close(self) -> None:
        """Stop the baseline's threads; the dispatcher logs at its own level again."""
        self.executor.shutdown()
        logger.setLevel(self._log_level)
