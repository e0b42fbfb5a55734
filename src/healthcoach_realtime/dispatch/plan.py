"""The dispatcher's decisions over plain data: grouping, what a post's status means, retries,
and which records SQS must redeliver. Pure: the I/O lives in ``deliver`` and ``batch``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

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
    "not_sent_summary",
    "summarize",
]

# Deliveries named one by one in a batch's "deliveries not sent" log line; the rest are counted.
EXAMPLES_LOGGED = 5


class Outcome(Enum):
    """What one PostToConnection answer means for that connection and event."""

    SENT = "sent"  # 2xx
    GONE = "gone"  # 410: the connection is closed; forget it
    RETRY = "retry"  # 429, 5xx, network error: transient; after the last attempt, a failure
    PERMANENT = "permanent"  # 403, 413, other 4xx: resending cannot help
    EXPIRED = "expired"  # not posted: the connection's session (its token's exp) had ended


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
    not_sent = [d for d in deliveries if d.outcome is not Outcome.SENT]
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


def behind_failures(events: Sequence[DispatchEvent], failed: set[str]) -> set[str]:
    """The events of a FIFO message group that come after one of its failed events.

    They must be redelivered too (after it, in order: SQS holds the group until then), or a
    user would get a later event before the retried earlier one the next time round.
    """
    blocked: set[str] = set()
    behind: set[str] = set()
    for event in events:
        if not event.group:
            continue
        if event.group in blocked:
            behind.add(event.message_id)
        elif event.message_id in failed:
            blocked.add(event.group)
    return behind


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
    failed = {d.message_id for d in deliveries if d.failed} | set(undead_lettered)
    failed |= {r.message_id for r in records if isinstance(r, DispatchEvent) and r.user_id in unreachable}
    events = [r for r in records if isinstance(r, DispatchEvent)]
    failed |= behind_failures(events, failed)
    return BatchReport(
        events_dispatched=sum(1 for e in events if e.message_id not in failed),
        messages_sent=sum(1 for d in deliveries if d.outcome is Outcome.SENT),
        stale_connections_removed=stale_connections_removed,
        delivery_failures=sum(1 for d in deliveries if d.outcome in (Outcome.RETRY, Outcome.PERMANENT)),
        invalid_events=len(records) - len(events),
        failed_message_ids=tuple(r.message_id for r in records if r.message_id in failed),
        deliveries_expired=sum(1 for d in deliveries if d.outcome is Outcome.EXPIRED),
    )
