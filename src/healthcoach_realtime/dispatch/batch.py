"""``dispatch_batch``: one SQS batch of domain events to every open connection of their users.

Invalid records are dead-lettered (not retried), and so is a record that a connection refused
for good (403, 413: resending cannot help, and dropping it would lose it silently). Each user's
events get their ``seq`` (reserved first), then are kept in the history (``history.store``),
all at once, while that user's connections are looked up, once per batch (a burst of 10 costs
the round trips of two writes, not of eleven): a client that connected too late
for the lookup reads a counter that already counts the events, and its resume waits until they
are kept (``HistoryStore.plan_resume``). The lookup is the GSI's answer joined with the
connections ``$connect`` noted on the counter in the last minute, which the reservation returned:
the GSI lags its table, the counter does not. Posts run concurrently, users interleaved (each
user's k-th connection is started before any user's (k+1)-th);
a 410 removes the connection unless its row is younger than the connecting grace (it may still
be connecting: API Gateway answers 410 until ``$connect`` returns); a record still failing
after the retries is reported in ``batchItemFailures`` so SQS redelivers it (then dead-letters it
after ``MAX_RECEIVE_COUNT``). Only then is the user's progress in that message group written
(per connection, the seqs of those records it received): a redelivery reads it and posts nothing a
connection already has, and a record behind a failed one that every connection has is not
reported.
The lookup returns each connection's session end (its token's ``exp``): nothing is posted to a
connection at or after it (``EXPIRED``: not a failure, nothing to redeliver; the sweeper closes it).
Delivery is at least once: when a progress item could not be kept, a redelivered record (same
``seq``) reaches again the connections that already had it, and the browser drops the
duplicate by the frame's ``id``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import BotoCoreError, ClientError

from healthcoach_realtime.dispatch.deliver import deliver_all
from healthcoach_realtime.dispatch.parse import DispatchEvent, InvalidRecord, parse_batch
from healthcoach_realtime.dispatch.plan import (
    DISPATCH_RETRY,
    BatchReport,
    Delivery,
    Outcome,
    group_by_user,
    interleave,
    not_sent_summary,
    progress_marks,
    summarize,
)
from healthcoach_realtime.frames import encode_event
from healthcoach_realtime.history.store import NewEvent, unique_events, young_connections
from healthcoach_realtime.observability import MetricName, logger, metrics
from healthcoach_realtime.settings import DEFAULT_CONNECTING_GRACE_SECONDS

if TYPE_CHECKING:
    from mypy_boto3_apigatewaymanagementapi import ApiGatewayManagementApiClient

    from healthcoach_realtime.connections import ConnectionStore
    from healthcoach_realtime.dead_letters import DeadLetterQueue
    from healthcoach_realtime.history.store import HistoryStore, Reservation
    from healthcoach_realtime.retry import RetryPolicy

__all__ = ["MAX_WORKERS", "dispatch_batch"]

# Concurrent lookups and posts; below the @connections client's pool of 32 connections.
MAX_WORKERS = 16


@dataclass(frozen=True)
class _Prepared:
    """One user's events (seqs stamped), connections (id -> session end) and, per FIFO group
    redelivered, what each connection already has (connection id -> group -> seq)."""

    events: list[DispatchEvent]
    sessions: dict[str, int]
    had: dict[str, dict[str, frozenset[int]]] = field(default_factory=dict)


@dataclass(frozen=True)
class _Preparation:
    """What ``_prepare`` made of a batch: per user ready to deliver, and the users that are not
    (a step failed: their records are redelivered by SQS)."""

    users: dict[str, _Prepared]
    unreachable: list[str]


def dispatch_batch(
    sqs_event: Mapping[str, Any],
    *,
    store: ConnectionStore,
    management: ApiGatewayManagementApiClient,
    dead_letters: DeadLetterQueue,
    history: HistoryStore,
    policy: RetryPolicy = DISPATCH_RETRY,
    sleep: Callable[[float], None] = time.sleep,
    max_workers: int = MAX_WORKERS,
    deadline: float | None = None,
    wall_clock: Callable[[], float] = time.time,
    connecting_grace: float = DEFAULT_CONNECTING_GRACE_SECONDS,
) -> dict[str, Any]:
    """Deliver a batch; returns the partial-batch response ``{"batchItemFailures": [...]}``.

    ``deadline`` (``time.monotonic()`` seconds): start no post that could end after it;
    ``wall_clock`` (epoch seconds): what sessions' ends and rows' ages are compared with;
    ``connecting_grace``: a row younger than this is kept when its connection answers 410."""
    records = parse_batch(sqs_event)
    undead_lettered = [
        r.message_id
        for r in records
        if isinstance(r, InvalidRecord) and not dead_letters.park(r.body, r.reason, record_id=r.message_id)
    ]
    by_user = group_by_user(r for r in records if isinstance(r, DispatchEvent))
    with ThreadPoolExecutor(max_workers=max_workers) as executor:
        preparation = _prepare(store, history, by_user, executor, wall_clock())
        prepared = preparation.users
        targets = interleave([(cid, p.events) for cid in p.sessions] for p in prepared.values())
        expiries = {cid: float(exp) for p in prepared.values() for cid, exp in p.sessions.items()}
        deliveries = deliver_all(
            management,
            targets,
            executor=executor,
            policy=policy,
            sleep=sleep,
            deadline=deadline,
            expiries=expiries,
            wall_clock=wall_clock,
            had={cid: had for p in prepared.values() for cid, had in p.had.items()},
        )
    _log_deliveries(deliveries)
    undead_lettered += _park_refused(dead_letters, records, deliveries)
    removed = _remove_gone(store, deliveries, connected_before=wall_clock() - connecting_grace)
    report = summarize(
        records,
        deliveries,
        unreachable_users=preparation.unreachable,
        undead_lettered=undead_lettered,
        stale_connections_removed=removed,
    )
    _keep_progress(history, prepared, deliveries, set(report.failed_message_ids))
    _record(report, users=len(by_user))
    return report.response


def _prepare(
    store: ConnectionStore,
    history: HistoryStore,
    by_user: dict[str, list[DispatchEvent]],
    executor: Executor,
    now: float,
) -> _Preparation:
    """Per user, concurrently: reserve the seqs (which returns the connections noted on the
    counter); then keep each event, look up the connections with their sessions' ends and, for a
    redelivered FIFO group, read what each connection already has, all at once (after the
    reservation: a client that connects after the lookup finds the counter moved on, and its
    resume waits for the events to be kept).

    Users for whom any step failed are ``unreachable`` (their records are redelivered by SQS).
    """
    unreachable: list[str] = []
    unique = {user: unique_events([_new_event(e) for e in events]) for user, events in by_user.items()}
    reserving = {user: executor.submit(history.reservation, user, len(new)) for user, new in unique.items()}
    reserved: dict[str, Reservation] = {}
    claiming: dict[str, list[Future[int]]] = {}
    looking_up: dict[str, Future[dict[str, int]]] = {}
    progress: dict[str, dict[str, Future[dict[str, frozenset[int]]]]] = {}
    for user, reservation in reserving.items():
        try:
            reserved[user] = reservation.result()
        except (BotoCoreError, ClientError):
            logger.exception("reserving a user's seqs failed", extra={"user_id": user})
            unreachable.append(user)
            continue
        first = reserved[user].first
        claiming[user] = [
            executor.submit(history.claim, user, event, seq)
            for seq, event in enumerate(unique[user], start=first)
        ]
        looking_up[user] = executor.submit(store.sessions_of, user)
        progress[user] = {
            group: executor.submit(history.progress, user, group)
            for group in _redelivered_groups(by_user[user])
        }
    prepared: dict[str, _Prepared] = {}
    for user, claims in claiming.items():
        try:
            seqs = {event.event_id: claim.result() for event, claim in zip(unique[user], claims, strict=True)}
            sessions = _joined(looking_up[user].result(), young_connections(reserved[user].recent, now))
        except (BotoCoreError, ClientError):
            logger.exception("keeping or looking up a user's events failed", extra={"user_id": user})
            unreachable.append(user)
            continue
        events = [_stamp(e, seqs[e.event_id]) for e in by_user[user]]
        prepared[user] = _Prepared(events, sessions, _had(user, progress[user]))
    return _Preparation(prepared, unreachable)


def _joined(indexed: dict[str, int], noted: dict[str, int]) -> dict[str, int]:
    """The GSI's connections and those noted on the counter; the later session end wins."""
    return {cid: max(indexed.get(cid, 0), noted.get(cid, 0)) for cid in indexed | noted}


def _redelivered_groups(events: list[DispatchEvent]) -> list[str]:
    """The FIFO groups with a record received before: their progress may say what to skip."""
    return sorted({e.group for e in events if e.group and e.receive_count > 1})


def _had(
    user: str, reading: dict[str, Future[dict[str, frozenset[int]]]]
) -> dict[str, dict[str, frozenset[int]]]:
    """Connection id -> group -> the seqs it has; a progress that cannot be read skips nothing
    (the connections then get those events again: at least once)."""
    had: dict[str, dict[str, frozenset[int]]] = {}
    for group, future in reading.items():
        try:
            marks = future.result()
        except (BotoCoreError, ClientError):
            logger.exception("reading a user's delivery progress failed", extra={"user_id": user})
            continue
        for cid, seqs in marks.items():
            had.setdefault(cid, {})[group] = seqs
    return had


def _keep_progress(
    history: HistoryStore, prepared: dict[str, _Prepared], deliveries: list[Delivery], failed: set[str]
) -> None:
    """For each user and FIFO group with a record reported failed: the seqs of those records
    each connection has (sent now, or had before), for the redelivery to skip (best effort:
    without it, duplicates)."""
    for user, p in prepared.items():
        groups = sorted({e.group for e in p.events if e.group and e.message_id in failed})
        for group in groups:
            events = [e for e in p.events if e.group == group]
            marks = progress_marks(events, deliveries, failed)
            if not marks:
                continue
            try:
                history.keep_progress(user, group, marks)
            except (BotoCoreError, ClientError):
                logger.exception("keeping a user's delivery progress failed", extra={"user_id": user})


def _new_event(e: DispatchEvent) -> NewEvent:
    return NewEvent(e.event_id, e.type, e.data, e.time)


def _stamp(e: DispatchEvent, seq: int) -> DispatchEvent:
    """The event with its seq, and its frame with the seq in it."""
    return replace(e, seq=seq, frame=encode_event(e.type, e.data, e.event_id, e.time, seq=seq))


def _log_deliveries(deliveries: list[Delivery]) -> None:
    summary = not_sent_summary(deliveries)
    if summary is None:
        return
    # Closed tabs (cleaned up below) and ended sessions (the sweeper closes them) are routine.
    if set(summary["outcomes"]) <= {Outcome.GONE.value, Outcome.EXPIRED.value}:
        logger.info("deliveries not sent", extra=summary)
    else:
        logger.warning("deliveries not sent", extra=summary)


def _park_refused(
    dead_letters: DeadLetterQueue, records: list[DispatchEvent | InvalidRecord], deliveries: list[Delivery]
) -> list[str]:
    """Dead-letter each record a connection refused for good (once, naming the first refusal);
    returns the ids of those the DLQ did not take, for SQS to redeliver."""
    refusals: dict[str, Delivery] = {}
    for d in deliveries:
        if d.outcome is Outcome.PERMANENT:
            refusals.setdefault(d.message_id, d)
    not_parked = []
    for record in records:
        refusal = refusals.get(record.message_id)
        if refusal is None or not isinstance(record, DispatchEvent):
            continue
        reason = f"PostToConnection answered {refusal.status} for connection {refusal.connection_id}"
        if not dead_letters.park(record.body, reason, record_id=record.message_id):
            not_parked.append(record.message_id)
    return not_parked


def _remove_gone(store: ConnectionStore, deliveries: list[Delivery], *, connected_before: float) -> int:
    """Forget every connection that answered 410 and whose row is older than ``connected_before``
    (a younger one may still be connecting; the next event, ``$disconnect`` or TTL settles it);
    returns how many were removed."""
    gone = dict.fromkeys(d.connection_id for d in deliveries if d.outcome is Outcome.GONE and d.attempts)
    removed = 0
    for connection_id in gone:
        try:
            row = store.remove_gone(connection_id, connected_before)
        except (BotoCoreError, ClientError):
            # Harmless: the next event tries (and removes) it again; TTL removes it at the latest.
            logger.exception("removing a stale connection failed", extra={"connection_id": connection_id})
            continue
        if row is None:
            logger.info(
                "a connection answered 410: its row is kept (young or already gone)",
                extra={"connection_id": connection_id},
            )
        else:
            removed += 1
    return removed


def _record(report: BatchReport, *, users: int) -> None:
    counts = {
        MetricName.EVENTS_DISPATCHED: report.events_dispatched,
        MetricName.MESSAGES_SENT: report.messages_sent,
        MetricName.STALE_CONNECTIONS_REMOVED: report.stale_connections_removed,
        MetricName.DELIVERY_FAILURES: report.delivery_failures,
        MetricName.INVALID_EVENTS: report.invalid_events,
        MetricName.DELIVERIES_EXPIRED: report.deliveries_expired,
    }
    for name, value in counts.items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    logger.info(
        "batch dispatched",
        extra={**counts, "users": users, "records_failed": len(report.failed_message_ids)},
    )
