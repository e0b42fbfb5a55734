"""The dispatcher's decisions over plain data: grouping, what a post's status means, retries,
and which records SQS must redeliver. Pure: the I/O lives in ``deliver`` and ``batch``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, TypeVar

from healthcoach_realtime.dispatch.parse import DispatchEvent, InvalidRecord
from healthcoach_realtime.retry import RetryPolicy

__all__ = [
    "DISPATCH_RETRY",
    "BatchReport",
    "Delivery",
    "Outcome",
    "behind_failures",
    "classify",
    "group_by_user",
    "interleave",
    "not_sent_summary",
    "progress_marks",
    "summarize",
]

T = TypeVar("T")

# Deliveries named one by one in a batch's "deliveries not sent" log line; the rest are counted.
EXAMPLES_LOGGED = 5


class Outcome(Enum):
    """What one PostToConnection answer means for that connection and event."""

    SENT = "sent"  # 2xx
    GONE = "gone"  # 410: the connection is closed; forget it
    RETRY = "retry"  # 429, 5xx, network error: transient; after the last attempt, a failure
    PERMANENT = "permanent"  # 403, 413, other 4xx: resending cannot help
    EXPIRED = "expired"  # not posted: the connection's session (its token's exp) had ended
    HAD = "had"  # not posted: an earlier receive of the record already reached the connection


def classify(status: int | None) -> Outcome:
    """The outcome of an HTTP status; ``None`` means no answer (connection error, timeout)."""
    if status is None or status == 429 or status >= 500:
        return Outcome.RETRY
    if 200 <= status < 300:
        return Outcome.SENT
    if status == 410:
        return Outcome.GONE
    return Outcome.PERMANENT


# Short on purpose: the dispatcher runs under a Lambda timeout, and SQS redelivers anyway.
DISPATCH_RETRY = RetryPolicy(attempts=3, base_delay=0.05, max_delay=0.4)


def group_by_user(events: Iterable[DispatchEvent]) -> dict[str, list[DispatchEvent]]:
    """Events per user, in batch order: one connection lookup per user per batch."""
    groups: dict[str, list[DispatchEvent]] = {}
    for event in events:
        groups.setdefault(event.user_id, []).append(event)
    return groups


def interleave(queues: Iterable[Sequence[T]]) -> list[T]:
    """Round robin over ``queues``: every queue's k-th item comes before any queue's (k+1)-th.

    The dispatcher starts its posts in this order, one queue per user: a user with hundreds of
    connections cannot push another user's one post to the end of the batch (or past its deadline).
    """
    lists = [list(q) for q in queues]
    longest = max((len(q) for q in lists), default=0)
    return [q[k] for k in range(longest) for q in lists if k < len(q)]


@dataclass(frozen=True)
class Delivery:
    """The final result of one event to one connection (after any retries)."""

    message_id: str
    event_id: str
    connection_id: str
    outcome: Outcome
    status: int | None
    attempts: int
    deferred: bool = False  # not (re)tried: no time left before the invocation's deadline

    @property
    def failed(self) -> bool:
        """Still transient after the last attempt: the record must be redelivered."""
        return self.outcome is Outcome.RETRY


def not_sent_summary(deliveries: Iterable[Delivery]) -> dict[str, Any] | None:
    """The fields of one log line for a batch's deliveries that were not sent, or ``None``.

    One line per batch, not one per connection: in a broad outage a batch of 10 events to users
    with 20 connections fails 200 deliveries, and the counts say more than 200 lines would."""
    not_sent = [d for d in deliveries if d.outcome not in (Outcome.SENT, Outcome.HAD)]
    if not not_sent:
        return None
    # Name the deliveries that were posted first: the rest only share their outcome.
    examples = sorted(not_sent, key=lambda d: d.attempts == 0)[:EXAMPLES_LOGGED]
    return {
        "not_sent": len(not_sent),
        "connections": len({d.connection_id for d in not_sent}),
        "outcomes": dict(Counter(d.outcome.value for d in not_sent)),
        "statuses": dict(Counter("none" if d.status is None else str(d.status) for d in not_sent)),
        "deferred_by_deadline": sum(d.deferred for d in not_sent),
        "examples": [
            {
                "message_id": d.message_id,
                "event_id": d.event_id,
                "connection_id": d.connection_id,
                "outcome": d.outcome.value,
                "status": d.status,
                "attempts": d.attempts,
            }
            for d in examples
        ],
    }


@dataclass(frozen=True)
class BatchReport:
    """Counts for the metrics, and the records SQS must redeliver (in batch order)."""

    events_dispatched: int
    messages_sent: int
    stale_connections_removed: int
    delivery_failures: int
    invalid_events: int
    failed_message_ids: tuple[str, ...]
    deliveries_expired: int = 0

    @property
    def response(self) -> dict[str, Any]:
        """The SQS partial-batch response (``ReportBatchItemFailures``)."""
        return {"batchItemFailures": [{"itemIdentifier": m} for m in self.failed_message_ids]}


def behind_failures(
    events: Sequence[DispatchEvent], failed: set[str], delivered: Collection[str] = frozenset()
) -> set[str]:
    """The events of a FIFO message group that come after one of its failed events, unless
    ``delivered`` (every connection of its user has it, or has gone or expired).

    They must be redelivered too (after it, in order: SQS holds the group until then), or a
    connection that missed a later event would never get it. One already delivered everywhere is
    not: redelivering it could only post duplicates, and dead-letter it once its receives run out.
    """
    blocked: set[str] = set()
    behind: set[str] = set()
    for event in events:
        if not event.group:
            continue
        if event.group in blocked:
            if event.message_id not in delivered:
                behind.add(event.message_id)
        elif event.message_id in failed:
            blocked.add(event.group)
    return behind


def progress_marks(
    events: Sequence[DispatchEvent], deliveries: Iterable[Delivery], held: Collection[str]
) -> dict[str, frozenset[int]]:
    """Connection id -> the seqs it has received (sent now, or had before) of ``events`` (one
    user's events of one FIFO group, seqs stamped) whose records are ``held`` (reported for
    redelivery). Explicit seqs, not a high-water mark: nothing here assumes the queue hands a
    group's records back before later ones. Connections that received none are left out.
    """
    seq_of = {e.message_id: e.seq for e in events if e.message_id in held}
    got: dict[str, set[int]] = {}
    for d in deliveries:
        if d.message_id in seq_of and d.outcome in (Outcome.SENT, Outcome.HAD):
            got.setdefault(d.connection_id, set()).add(seq_of[d.message_id])
    return {cid: frozenset(seqs) for cid, seqs in got.items()}


def summarize(
    records: Sequence[DispatchEvent | InvalidRecord],
    deliveries: Iterable[Delivery],
    *,
    unreachable_users: Iterable[str] = (),
    undead_lettered: Iterable[str] = (),
    stale_connections_removed: int = 0,
) -> BatchReport:
    """Decide which records failed: a delivery still transient after retries, a user whose
    connections could not be looked up, or an invalid record that could not be dead-lettered.

    ``DeliveryFailures`` counts deliveries (event x connection) that ended neither sent nor gone.
    """
    deliveries = list(deliveries)
    unreachable = set(unreachable_users)
    undelivered = {d.message_id for d in deliveries if d.failed}
    failed = undelivered | set(undead_lettered)
    failed |= {r.message_id for r in records if isinstance(r, DispatchEvent) and r.user_id in unreachable}
    events = [r for r in records if isinstance(r, DispatchEvent)]
    delivered = {e.message_id for e in events if e.user_id not in unreachable} - undelivered
    failed |= behind_failures(events, failed, delivered)
    return BatchReport(
        events_dispatched=sum(1 for e in events if e.message_id not in failed),
        messages_sent=sum(1 for d in deliveries if d.outcome is Outcome.SENT),
        stale_connections_removed=stale_connections_removed,
        delivery_failures=sum(1 for d in deliveries if d.outcome in (Outcome.RETRY, Outcome.PERMANENT)),
        invalid_events=len(records) - len(events),
        failed_message_ids=tuple(r.message_id for r in records if r.message_id in failed),
        deliveries_expired=sum(1 for d in deliveries if d.outcome is Outcome.EXPIRED),
    )
