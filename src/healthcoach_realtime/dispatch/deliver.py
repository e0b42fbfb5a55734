"""PostToConnection: every connection's events, concurrently, retried per ``RetryPolicy``.

One shared @connections client (thread-safe, pooled; see ``clients.management_api_client``)
and one bounded thread pool. Each connection gets its events in batch order, so a browser
sees one user's events in the order they were emitted.

With a ``deadline`` (the Lambda's end, less time to report), no attempt starts that could
outlast it: what is left is reported for SQS to redeliver, instead of the invocation timing
out and the whole batch coming back.

With ``expiries`` (connection id -> its session's end, epoch seconds), no attempt starts at or
after a connection's token expired: its events are ``EXPIRED``, neither sent nor retried.

With ``had`` (connection id -> FIFO group -> the seqs it has received on an earlier receive of
the same records), such an event is not posted again (``HAD``).

Targets are started in the order given: the caller interleaves users (``plan.interleave``).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import Executor
from typing import TYPE_CHECKING

from healthcoach_realtime.clients import MANAGEMENT_CALL_SECONDS
from healthcoach_realtime.dispatch.plan import Delivery, Outcome, classify
from healthcoach_realtime.frames import post_status
from healthcoach_realtime.sessions.expiry import is_live

if TYPE_CHECKING:
    from mypy_boto3_apigatewaymanagementapi import ApiGatewayManagementApiClient

    from healthcoach_realtime.dispatch.parse import DispatchEvent
    from healthcoach_realtime.retry import RetryPolicy

__all__ = ["ATTEMPT_SECONDS", "deliver_all", "deliver_to_connection"]

# The longest one PostToConnection can take: the @connections client's connect + read timeouts.
ATTEMPT_SECONDS = MANAGEMENT_CALL_SECONDS


def deliver_to_connection(
    client: ApiGatewayManagementApiClient,
    connection_id: str,
    events: Sequence[DispatchEvent],
    *,
    policy: RetryPolicy,
    sleep: Callable[[float], None] = time.sleep,
    rng: Callable[[], float] = random.random,
    deadline: float | None = None,
    clock: Callable[[], float] = time.monotonic,
    expires_at: float | None = None,
    wall_clock: Callable[[], float] = time.time,
    had: Mapping[str, Collection[int]] | None = None,
) -> list[Delivery]:
    """Post ``events`` in order to one connection; one ``Delivery`` per event.

    After a 410, once retries are exhausted, or once the session has ended (``expires_at``), the
    remaining events are not posted (gone stays gone; a failing connection would only burn the
    Lambda's time; an expired one may get nothing more) and share that outcome. An event the
    connection already has (``had``: FIFO group -> seqs) is skipped as ``HAD``.
    """
    marks = had or {}
    deliveries: list[Delivery] = []
    for position, event in enumerate(events):
        if _had(event, marks):
            deliveries.append(Delivery(event.message_id, event.event_id, connection_id, Outcome.HAD, None, 0))
            continue
        delivery = _deliver_one(
            client,
            connection_id,
            event,
            policy=policy,
            sleep=sleep,
            rng=rng,
            deadline=deadline,
            clock=clock,
            expires_at=expires_at,
            wall_clock=wall_clock,
        )
        deliveries.append(delivery)
        if delivery.outcome in (Outcome.GONE, Outcome.RETRY, Outcome.EXPIRED):
            deliveries += [
                Delivery(rest.message_id, rest.event_id, connection_id, Outcome.HAD, None, 0)
                if _had(rest, marks)
                else Delivery(
                    rest.message_id,
                    rest.event_id,
                    connection_id,
                    delivery.outcome,
                    None,
                    0,
                    delivery.deferred,
                )
                for rest in events[position + 1 :]
            ]
            break
    return deliveries


def _had(event: DispatchEvent, marks: Mapping[str, Collection[int]]) -> bool:
    """The connection received ``event`` on an earlier receive of its record."""
    return bool(event.group) and event.seq > 0 and event.seq in marks.get(event.group, ())


def _deliver_one(
    client: ApiGatewayManagementApiClient,
    connection_id: str,
    event: DispatchEvent,
    *,
    policy: RetryPolicy,
    sleep: Callable[[float], None],
    rng: Callable[[], float],
    deadline: float | None,
    clock: Callable[[], float],
    expires_at: float | None,
    wall_clock: Callable[[], float],
) -> Delivery:
    attempt = 1
    while True:
        if expires_at is not None and not is_live(expires_at, wall_clock()):
            return Delivery(
                event.message_id, event.event_id, connection_id, Outcome.EXPIRED, None, attempt - 1
            )
        if deadline is not None and clock() + ATTEMPT_SECONDS > deadline:  # reported for redelivery
            return Delivery(
                event.message_id,
                event.event_id,
                connection_id,
                Outcome.RETRY,
                None,
                attempt - 1,
                deferred=True,
            )
        status = post_status(client, connection_id, event.frame)
        outcome = classify(status)
        if outcome is not Outcome.RETRY or attempt >= policy.attempts:
            return Delivery(event.message_id, event.event_id, connection_id, outcome, status, attempt)
        sleep(policy.delay(attempt, rng))
        attempt += 1


def deliver_all(
    client: ApiGatewayManagementApiClient,
    targets: Sequence[tuple[str, Sequence[DispatchEvent]]],
    *,
    executor: Executor,
    policy: RetryPolicy,
    sleep: Callable[[float], None] = time.sleep,
    deadline: float | None = None,
    expiries: Mapping[str, float] | None = None,
    wall_clock: Callable[[], float] = time.time,
    had: Mapping[str, Mapping[str, Collection[int]]] | None = None,
) -> list[Delivery]:
    """Every ``(connection_id, events)`` target on ``executor``, started in order; all their
    deliveries.

    ``expiries``: each connection's session end; a connection missing from it is not checked.
    ``had``: per connection, what it has from an earlier receive (see ``deliver_to_connection``).
    """
    ends = expiries or {}
    progress = had or {}
    futures = [
        executor.submit(
            deliver_to_connection,
            client,
            cid,
            events,
            policy=policy,
            sleep=sleep,
            deadline=deadline,
            expires_at=ends.get(cid),
            wall_clock=wall_clock,
            had=progress.get(cid),
        )
        for cid, events in targets
    ]
    return [delivery for future in futures for delivery in future.result()]
