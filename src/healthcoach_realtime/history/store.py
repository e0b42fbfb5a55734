"""``HistoryStore``: seq assignment and the replay log in DynamoDB (keys in ``keys``).

Assigning seqs to one user's k events (of a batch) costs k + 1 writes and no read: one
``ADD lastSeq :k`` returning the new value (k consecutive seqs, atomically), then one PutItem
per event of its ``event#<id>`` item, conditional on ``attribute_not_exists``: the item is at once
the claim on the event id and the kept event. An event that already has a seq (redelivered by
SQS, or delivered twice by EventBridge, even concurrently) fails the condition, and the failure
itself returns the item (``ReturnValuesOnConditionCheckFailure``), so it keeps its seq without a
read; the seq it had allocated is recorded as skipped, so kept seqs stay contiguous for resumes.
TransactWriteItems is avoided on purpose: it costs twice the write units, and moto deep-copies
the whole table per transaction (slow as history grows, and not thread-safe).

The reservation returns the whole counter item (``ALL_NEW``, same single UpdateItem): with it the
connections ``$connect`` noted there (``note_connection``), a strongly consistent list of the
user's recent connections that the connections table's GSI may not show yet.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from healthcoach_realtime.history.keys import (
    BY_SEQ_INDEX,
    HistoryEvent,
    RecentConnection,
    SkippedSeq,
    counter_key,
    entry_from_item,
    event_key,
    marks_from_item,
    progress_item,
    progress_key,
    recent_from_item,
    recent_name,
    recent_value,
    skipped_item,
)
from healthcoach_realtime.history.resume import MAX_REPLAY, ResumePlan, awaiting, plan_resume
from healthcoach_realtime.settings import DEFAULT_HISTORY_TTL_SECONDS

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = [
    "PROGRESS_TTL_SECONDS",
    "RECENT_CONNECTION_SECONDS",
    "SETTLE_SECONDS",
    "HistoryStore",
    "NewEvent",
    "Reservation",
    "stale_connections",
    "unique_events",
    "young_connections",
]

# How long a connection noted on the counter counts as recent: far longer than the connections
# table's GSI takes to show a new row (normally well under a second). Older notes are ignored
# and pruned by the user's next ``$connect``.
RECENT_CONNECTION_SECONDS = 60.0
# A progress item outlives its redeliveries (3 receives, minutes apart at most), then goes.
PROGRESS_TTL_SECONDS = 3600

# How long a resume waits for seqs handed out but not kept yet (normally a few milliseconds:
# one PutItem), before it gives up on them and tells the client to resync.
SETTLE_SECONDS = 2.0


@dataclass(frozen=True)
class NewEvent:
    """One event of the user to keep, as the dispatcher received it (before it has a seq)."""

    event_id: str
    type: str
    data: Any
    time: str


@dataclass(frozen=True)
class Reservation:
    """Seqs ``first`` .. ``first + count - 1``, and the connections noted on the counter then."""

    first: int
    recent: dict[str, RecentConnection] = field(default_factory=dict)


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

    def reserve(self, user_id: str, count: int) -> int:
        """Reserve ``count`` consecutive seqs (one UpdateItem); returns the first."""
        return self.reservation(user_id, count).first

    def reservation(self, user_id: str, count: int) -> Reservation:
        """Reserve ``count`` consecutive seqs; with them, the connections noted on the counter
        (the same one UpdateItem: ``ALL_NEW`` returns the whole counter item)."""
        response = self._client.update_item(
            TableName=self._table,
            Key=counter_key(user_id),
            UpdateExpression="ADD lastSeq :k",
            ExpressionAttributeValues={":k": {"N": str(count)}},
            ReturnValues="ALL_NEW",
        )
        counter = response["Attributes"]
        return Reservation(int(counter["lastSeq"]["N"]) - count + 1, recent_from_item(counter))

    def recent_connections(self, user_id: str) -> dict[str, RecentConnection]:
        """The connections noted on the user's counter, young or stale (one consistent read)."""
        response = self._client.get_item(TableName=self._table, Key=counter_key(user_id), ConsistentRead=True)
        return recent_from_item(response.get("Item", {}))

    def note_connection(
        self, user_id: str, connection: RecentConnection, *, prune: Collection[str] = ()
    ) -> None:
        """Note a new connection on the counter, and drop the notes ``prune`` names (one UpdateItem)."""
        names = {"#new": recent_name(connection.connection_id)}
        names |= {
            f"#old{n}": recent_name(cid)
            for n, cid in enumerate(sorted(set(prune) - {connection.connection_id}))
        }
        expression = "SET #new = :entry" + (
            " REMOVE " + ", ".join(name for name in names if name != "#new") if len(names) > 1 else ""
        )
        self._client.update_item(
            TableName=self._table,
            Key=counter_key(user_id),
            UpdateExpression=expression,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={":entry": recent_value(connection)},
        )

    def forget_connection(self, user_id: str, connection_id: str) -> dict[str, RecentConnection]:
        """Drop a closed connection's note, if there is one (never creates a counter); the notes
        left (the same UpdateItem returns them, whether or not there was one to drop)."""
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=counter_key(user_id),
                UpdateExpression="REMOVE #c",
                ConditionExpression="attribute_exists(#c)",
                ExpressionAttributeNames={"#c": recent_name(connection_id)},
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            item: Any = exc.response.get("Item") or {}
        else:
            item = response.get("Attributes") or {}
        left = recent_from_item(item)
        left.pop(connection_id, None)
        return left

    def progress(self, user_id: str, group: str) -> dict[str, frozenset[int]]:
        """Connection id -> the seqs of ``group``'s held records it has received (consistent)."""
        response = self._client.get_item(
            TableName=self._table, Key=progress_key(user_id, group), ConsistentRead=True
        )
        return marks_from_item(response.get("Item"))

    def keep_progress(self, user_id: str, group: str, got: Mapping[str, Collection[int]]) -> None:
        """Replace the user's progress in ``group`` (one PutItem; it expires on its own)."""
        ttl = int(self._clock()) + PROGRESS_TTL_SECONDS
        self._client.put_item(TableName=self._table, Item=progress_item(user_id, group, got, ttl))

    def claim(self, user_id: str, event: NewEvent, seq: int) -> int:
        """Keep ``event`` with ``seq``, unless its id already has a seq: then that one (and
        ``seq`` is kept as skipped, so the user's seqs stay contiguous)."""
        kept = HistoryEvent(user_id, seq, event.event_id, event.type, event.data, event.time)
        try:
            self._client.put_item(
                TableName=self._table,
                Item=kept.item(self._ttl()),
                ConditionExpression="attribute_not_exists(sk)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            existing: Any = exc.response.get("Item") or self._kept_item(user_id, event.event_id)
            self._client.put_item(TableName=self._table, Item=skipped_item(user_id, seq, self._ttl()))
            return int(existing["seq"]["N"])
        return seq

    def _kept_item(self, user_id: str, event_id: str) -> dict[str, Any]:
        """The winner's item when the failed condition did not return it (older DynamoDB APIs)."""
        response = self._client.get_item(
            TableName=self._table, Key=event_key(user_id, event_id), ConsistentRead=True
        )
        return dict(response["Item"])

    def _ttl(self) -> int:
        return int(self._clock()) + self._ttl_seconds

    def latest_seq(self, user_id: str) -> int:
        """The last seq handed out to the user (0 when none)."""
        response = self._client.get_item(TableName=self._table, Key=counter_key(user_id), ConsistentRead=True)
        item = response.get("Item") or {}
        # A counter that only notes connections (none handed out yet) has no lastSeq.
        return int(item["lastSeq"]["N"]) if "lastSeq" in item else 0

    def kept_after(
        self, user_id: str, since: int, limit: int = MAX_REPLAY + 1
    ) -> list[HistoryEvent | SkippedSeq]:
        """Kept entries with seq > ``since``, ascending, at most ``limit`` (``bySeq``, consistent).

        An item past its ``ttl`` is not kept, even while DynamoDB has not deleted it yet (it does
        so lazily, typically within days): its seq counts as missing, so the resume is a resync.
        """
        now = self._clock()
        entries: list[HistoryEvent | SkippedSeq] = []
        start: Any = None
        while len(entries) < limit:
            kwargs: dict[str, Any] = {"ExclusiveStartKey": start} if start else {}
            response = self._client.query(
                TableName=self._table,
                IndexName=BY_SEQ_INDEX,
                KeyConditionExpression="userId = :u AND seq > :since",
                ExpressionAttributeValues={":u": {"S": user_id}, ":since": {"N": str(since)}},
                ConsistentRead=True,
                Limit=limit - len(entries),
                **kwargs,
            )
            items = response.get("Items", [])
            entries += [entry_from_item(item) for item in items if not _expired(item, now)]
            start = response.get("LastEvaluatedKey")
            if not start:
                break
        return entries

    def plan_resume(
        self,
        user_id: str,
        since: int,
        *,
        settle_seconds: float = SETTLE_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> ResumePlan:
        """What a client resuming after ``since`` gets: the counter read, then the log, read
        again while seqs handed out are not kept yet (in flight), for up to ``settle_seconds``."""
        deadline = monotonic() + settle_seconds
        delay = 0.01
        while True:
            latest = self.latest_seq(user_id)
            kept = self.kept_after(user_id, since)
            if not awaiting(since, latest, kept) or monotonic() + delay > deadline:
                return plan_resume(since, latest, kept)
            sleep(delay)
            delay = min(delay * 2, 0.2)


def _expired(item: Mapping[str, Any], now: float) -> bool:
    """Past its TTL: DynamoDB treats an item whose ``ttl`` is earlier than now as expired."""
    ttl = item.get("ttl")
    return ttl is not None and float(ttl["N"]) < now


def young_connections(
    recent: Mapping[str, RecentConnection], now: float, window: float = RECENT_CONNECTION_SECONDS
) -> dict[str, int]:
    """Connection id -> session end of the notes younger than ``window``: the ones the GSI may
    not show yet."""
    return {cid: c.expires_at for cid, c in recent.items() if now - c.connected_at < window}


def stale_connections(
    recent: Mapping[str, RecentConnection], now: float, window: float = RECENT_CONNECTION_SECONDS
) -> list[str]:
    """The notes old enough for the GSI to show their rows: nothing needs them any more."""
    return sorted(cid for cid, c in recent.items() if now - c.connected_at >= window)


def unique_events(events: Sequence[NewEvent]) -> list[NewEvent]:
    """One per event id, in first-seen order (a batch may carry an event twice)."""
    return list({e.event_id: e for e in events}.values())
