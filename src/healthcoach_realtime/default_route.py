"""``$default``: answer a browser's messages on its own connection, within its session and its rate.

Every message is first counted against its connection's rate (``sessions.message_rate``): one
conditional write that also returns the row, so the answer knows the user and the session's end
without another read. Over the limit the sender gets one ``error`` frame, then silence, then the
connection is closed. A session past its token's ``exp`` is served nothing but ``auth`` (which
may revive it until the sweeper closes it); every other message gets an ``error`` frame.

The resume is served inline, in order, by this invocation (no queue, no second function): the
dispatcher records an event in the history *before* it looks up the user's connections, and
this connection's row was written before it could send ``resume``. So each event after
``since`` is either already in the history when it is read here (replayed), or dispatched after
that read, to a lookup that finds this connection (live). Nothing falls between; an event can
arrive both ways, and live frames can overtake the replay, so the client drops repeats by ``id``
(see clients/web/README.md). The residual window is GSI propagation (normally milliseconds).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from healthcoach_realtime.client_messages import (
    AskPresence,
    Authorize,
    Invalid,
    Ping,
    Resume,
    error_frame,
    parse_message,
    pong_frame,
)
from healthcoach_realtime.dispatch.deliver import post_status
from healthcoach_realtime.frames import encode_frame
from healthcoach_realtime.history.resume import resumed_frame, resync_frame
from healthcoach_realtime.presence import presence_frame
from healthcoach_realtime.sessions.expiry import is_live
from healthcoach_realtime.sessions.message_rate import (
    MessageRatePolicy,
    Verdict,
    judge,
    limited_message,
    window_start,
)
from healthcoach_realtime.sessions.refresh import RefreshOutcome, refresh_session
from healthcoach_realtime.sessions.sockets import GONE, close_socket

if TYPE_CHECKING:
    from mypy_boto3_apigatewaymanagementapi import ApiGatewayManagementApiClient

    from healthcoach_realtime.auth.verifier import TokenVerifier
    from healthcoach_realtime.connections import Connection, ConnectionStore
    from healthcoach_realtime.history.store import HistoryStore

__all__ = ["SESSION_EXPIRED", "UNKNOWN_CONNECTION", "MessageOutcome", "answer_message"]

UNKNOWN_CONNECTION = "unknown connection; reconnect"
SESSION_EXPIRED = 'session expired: send {"action": "auth", "token": <a fresh token>} or reconnect'


@dataclass(frozen=True)
class MessageOutcome:
    """What the handler logs and counts: frames accepted, the rate verdict, a refresh's outcome."""

    sent: int
    verdict: Verdict | None = None  # None: no such connection
    refresh: RefreshOutcome | None = None


def answer_message(
    event: Mapping[str, Any],
    *,
    connections: ConnectionStore,
    history: HistoryStore,
    management: ApiGatewayManagementApiClient,
    verifier: Callable[[], TokenVerifier],
    policy: MessageRatePolicy,
    clock: Callable[[], float] = time.time,
) -> MessageOutcome:
    """Count the message, then post its answer frames to the sender, in order.

    ``verifier`` is a factory: only ``auth`` builds one (a ping does not pay for the JWT library).
    """
    connection_id = str(event.get("requestContext", {}).get("connectionId", ""))
    message = parse_message(event.get("body") if not event.get("isBase64Encoded") else None)
    now = clock()
    counted = connections.count_message(connection_id, window_start(now, policy))
    if counted is None:
        return MessageOutcome(
            _post(management, connection_id, [error_frame(UNKNOWN_CONNECTION)], None, clock)
        )
    connection, count = counted
    verdict = judge(count, policy)
    if verdict is Verdict.CLOSE:
        if close_socket(management, connection_id) == GONE:
            connections.remove(connection_id)  # a row left behind by a lost $disconnect
        return MessageOutcome(0, verdict)
    if verdict is Verdict.DROP:
        return MessageOutcome(0, verdict)
    if verdict is Verdict.LIMITED:
        frame = error_frame(limited_message(policy))
        return MessageOutcome(_post(management, connection_id, [frame], None, clock), verdict)
    if isinstance(message, Authorize):
        refresh = refresh_session(message.token, connection, verifier(), connections, now=now)
        return MessageOutcome(
            _post(management, connection_id, [refresh.frame], None, clock), verdict, refresh
        )
    frames, until = _answer(message, connection, connections, history, now)
    return MessageOutcome(_post(management, connection_id, frames, until, clock), verdict)


def _answer(
    message: Ping | Resume | AskPresence | Invalid,
    connection: Connection,
    connections: ConnectionStore,
    history: HistoryStore,
    now: float,
) -> tuple[list[dict[str, Any]], float | None]:
    """The frames, and the time after which none of them may be posted (the session's end)."""
    if isinstance(message, Invalid):
        return [error_frame(message.message)], None
    if not is_live(connection.expires_at, now):
        return [error_frame(SESSION_EXPIRED)], None
    until = float(connection.expires_at)
    if isinstance(message, Ping):
        return [pong_frame()], until
    if isinstance(message, AskPresence):
        return [presence_frame(len(connections.connection_ids_of(connection.user_id)))], until
    plan = history.plan_resume(connection.user_id, message.since)
    if plan.resync:
        return [resync_frame(plan.latest_seq)], until
    through = plan.events[-1].seq if plan.events else message.since
    return [*(e.frame() for e in plan.events), resumed_frame(through)], until


def _post(
    management: ApiGatewayManagementApiClient,
    connection_id: str,
    frames: list[dict[str, Any]],
    until: float | None,
    clock: Callable[[], float],
) -> int:
    """Post in order; stop at the first failure (the client reconnects and resumes again) or
    once the session has ended (a long replay must not outlive the token)."""
    sent = 0
    for frame in frames:
        if until is not None and clock() >= until:
            break
        status = post_status(management, connection_id, encode_frame(frame))
        if status is None or not 200 <= status < 300:
            break
        sent += 1
    return sent
