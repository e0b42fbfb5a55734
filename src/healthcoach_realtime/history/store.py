"""``HistoryStore``: seq assignment and the replay log in DynamoDB (keys in ``keys``).

Assigning seqs to one user's k new events (of a batch) costs k + 3 calls: one BatchGetItem of
their ``event#`` items (a redelivered event keeps its seq), one ``ADD lastSeq :k`` returning the
new value (k consecutive seqs, atomically), one conditional PutItem per new ``event#`` item
(``attribute_not_exists``: a concurrent delivery of the same event that claimed it first wins,
and the loser reads the winner's seq), one BatchWriteItem of the ``seq#`` items. A lost race
wastes the seq it allocated: seqs are strictly increasing per user, not necessarily contiguous.
TransactWriteItems is avoided on purpose: it costs twice the write units, and moto deep-copies
the whole table per transaction (slow as history grows, and not thread-safe).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from healthcoach_realtime.history.keys import (
    MAX_SEQ,
    HistoryEvent,
    counter_key,
    event_key,
    history_event_from_item,
    seq_sk,
)
from healthcoach_realtime.history.resume import MAX_REPLAY, ResumePlan, plan_resume
from healthcoach_realtime.settings import DEFAULT_HISTORY_TTL_SECONDS

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["HistoryStore", "NewEvent"]

_BATCH_WRITE_ITEMS = 25
_BATCH_GET_KEYS = 100

# (event_id, type, data, time) of one event of the user, in dispatch order.
NewEvent = tuple[str, str, Any, str]


class HistoryStore:
    """Reads and writes the history table through a low-level DynamoDB client."""

    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        *,
        ttl_seconds: int = DEFAULT_HISTORY_TTL_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._table = table_name
        self._ttl_seconds = ttl_seconds
        self._clock = clock

    def assign(self, user_id: str, events: Sequence[NewEvent]) -> dict[str, int]:
        """Event id -> seq for one user's events, recording new ones in the history first."""
        assigned: dict[str, int] = {}
        unique = list({e[0]: e for e in events}.values())
        for start in range(0, len(unique), _BATCH_GET_KEYS):
            assigned |= self._assign_chunk(user_id, unique[start : start + _BATCH_GET_KEYS])
        return assigned

    def _assign_chunk(self, user_id: str, events: Sequence[NewEvent]) -> dict[str, int]:
        assigned = self._known_seqs(user_id, [e[0] for e in events])
        new = [e for e in events if e[0] not in assigned]
        if new:
            last = self._allocate(user_id, len(new))
            for offset, (event_id, *_rest) in enumerate(new):
                assigned[event_id] = self._claim(user_id, event_id, last - len(new) + 1 + offset)
        records = [HistoryEvent(user_id, assigned[e[0]], *e) for e in events]
        self._write_history(records)
        return assigned

    def _claim(self, user_id: str, event_id: str, seq: int) -> int:
        """Give ``event_id`` this seq unless a concurrent delivery gave it one first (then that)."""
        item = HistoryEvent(user_id, seq, event_id, "", None, "").dedupe_item(self._ttl())
        try:
            self._client.put_item(
                TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(sk)"
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            known = self._known_seqs(user_id, [event_id])
            if event_id not in known:
                raise
            return known[event_id]
        return seq

    def _write_history(self, records: Sequence[HistoryEvent]) -> None:
        """Put the ``seq#`` items, known ones again (idempotent: heals a crash after the claim)."""
        ttl = self._ttl()
        requests: list[Any] = [{"PutRequest": {"Item": r.history_item(ttl)}} for r in records]
        for start in range(0, len(requests), _BATCH_WRITE_ITEMS):
            pending: Any = {self._table: requests[start : start + _BATCH_WRITE_ITEMS]}
            while pending:
                response = self._client.batch_write_item(RequestItems=pending)
                pending = response.get("UnprocessedItems") or None

    def _ttl(self) -> int:
        return int(self._clock()) + self._ttl_seconds

    def _known_seqs(self, user_id: str, event_ids: Sequence[str]) -> dict[str, int]:
        """The seqs already given to any of ``event_ids`` (strongly consistent)."""
        known: dict[str, int] = {}
        for start in range(0, len(event_ids), _BATCH_GET_KEYS):
            keys = [event_key(user_id, e) for e in event_ids[start : start + _BATCH_GET_KEYS]]
            request: Any = {self._table: {"Keys": keys, "ConsistentRead": True}}
            while request:
                response = self._client.batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(self._table, []):
                    known[str(item["sk"]["S"]).removeprefix("event#")] = int(item["seq"]["N"])
                request = response.get("UnprocessedKeys") or None
        return known

    def _allocate(self, user_id: str, count: int) -> int:
        """Reserve ``count`` consecutive seqs; returns the last one."""
        response = self._client.update_item(
            TableName=self._table,
            Key=counter_key(user_id),
            UpdateExpression="ADD lastSeq :k",
            ExpressionAttributeValues={":k": {"N": str(count)}},
            ReturnValues="UPDATED_NEW",
        )
        return int(response["Attributes"]["lastSeq"]["N"])

    def latest_seq(self, user_id: str) -> int:
        """The last seq handed out to the user (0 when none)."""
        response = self._client.get_item(TableName=self._table, Key=counter_key(user_id), ConsistentRead=True)
        item = response.get("Item")
        return int(item["lastSeq"]["N"]) if item else 0

    def kept_after(self, user_id: str, since: int, limit: int = MAX_REPLAY + 1) -> list[HistoryEvent]:
        """Kept events with seq > ``since``, ascending, at most ``limit``."""
        events: list[HistoryEvent] = []
        start: Any = None
        while len(events) < limit:
            kwargs: dict[str, Any] = {"ExclusiveStartKey": start} if start else {}
            response = self._client.query(
                TableName=self._table,
                KeyConditionExpression="userId = :u AND sk BETWEEN :lo AND :hi",
                ExpressionAttributeValues={
                    ":u": {"S": user_id},
                    ":lo": {"S": seq_sk(since + 1)},
                    ":hi": {"S": seq_sk(MAX_SEQ)},
                },
                ConsistentRead=True,
                Limit=limit - len(events),
                **kwargs,
            )
            events += [history_event_from_item(item) for item in response.get("Items", [])]
            start = response.get("LastEvaluatedKey")
            if not start:
                break
        return events

    def plan_resume(self, user_id: str, since: int) -> ResumePlan:
        """What a client resuming after ``since`` gets: the counter read, then the log."""
        latest = self.latest_seq(user_id)
        return plan_resume(since, latest, self.kept_after(user_id, since))
