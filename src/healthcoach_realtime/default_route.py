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

Every answer is posted through a ``Replier`` (brief retries; nothing after the session's end or
past the invocation's time, ``remaining``). A resume is served by ``history.replay``: chunked,
within that time, and always ended by one terminal frame that says how far it got. A
``presence`` ask is answered, then the same count goes to the user's other connections at once
(``presence.tell``): that is how they learn a device connected, without a post in ``$connect``.
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
    parse_message,
)
from healthcoach_realtime.frames import error_frame, pong_frame, presence_frame
from healthcoach_realtime.history.replay import ReplayOutcome, serve_resume
from healthcoach_realtime.history.store import young_connections
from healthcoach_realtime.presence import tell
from healthcoach_realtime.replies import Replier
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
    """What the handler logs and counts: frames accepted, the rate verdict, a refresh's outcome,
    a resume's outcome, and how many other connections a presence ask told."""

    sent: int
    verdict: Verdict | None = None  # None: no such connection
    refresh: RefreshOutcome | None = None
    replay: ReplayOutcome | None = None
    told: int = 0


def answer_message(
    event: Mapping[str, Any],
    *,
    connections: ConnectionStore,
    history: HistoryStore,
    management: ApiGatewayManagementApiClient,
    verifier: Callable[[], TokenVerifier],
    policy: MessageRatePolicy,
    clock: Callable[[], float] = time.time,
    remaining: Callable[[], float] | None = None,
) -> MessageOutcome:
    """Count the message, then post its answer frames to the sender, in order.

    ``verifier`` is a factory: only ``auth`` builds one (a ping does not pay for the JWT library).
    ``remaining``: seconds left in the invocation (the Lambda context's), ``None`` for no bound.
    """
    connection_id = str(event.get("requestContext", {}).get("connectionId", ""))
    message = parse_message(event.get("body") if not event.get("isBase64Encoded") else None)
    now = clock()
    reply = Replier(management, connection_id, remaining=remaining, wall_clock=clock)
    counted = connections.count_message(connection_id, window_start(now, policy))
    if counted is None:
        reply.post(error_frame(UNKNOWN_CONNECTION))
        return MessageOutcome(reply.sent)
    connection, count = counted
    verdict = judge(count, policy)
    if verdict is Verdict.CLOSE:
        if close_socket(management, connection_id) == GONE:
            connections.remove(connection_id)  # a row left behind by a lost $disconnect
        return MessageOutcome(0, verdict)
    if verdict is Verdict.DROP:
        return MessageOutcome(0, verdict)
    if verdict is Verdict.LIMITED:
        reply.post(error_frame(limited_message(policy)))
        return MessageOutcome(reply.sent, verdict)
    if isinstance(message, Authorize):
        refresh = refresh_session(message.token, connection, verifier(), connections, now=now)
        reply.post(refresh.frame)
        return MessageOutcome(reply.sent, verdict, refresh)
    if isinstance(message, Invalid):
        reply.post(error_frame(message.message))
        return MessageOutcome(reply.sent, verdict)
    if not is_live(connection.expires_at, now):
        reply.post(error_frame(SESSION_EXPIRED))
        return MessageOutcome(reply.sent, verdict)
    # From here on nothing is posted once the session has ended (a replay must not outlive it).
    reply.until = float(connection.expires_at)
    return _serve(message, verdict, reply, connection, connections, history, now)


def _serve(
    message: Ping | Resume | AskPresence,
    verdict: Verdict,
    reply: Replier,
    connection: Connection,
    connections: ConnectionStore,
    history: HistoryStore,
    now: float,
) -> MessageOutcome:
    """Answer a live session's ping, presence ask or resume."""
    if isinstance(message, Ping):
        reply.post(pong_frame())
        return MessageOutcome(reply.sent, verdict)
    if isinstance(message, AskPresence):
        ids = _open_connections(connection.user_id, reply.connection_id, connections, history, now)
        frame = presence_frame(len(ids))
        reply.post(frame)
        others = [c for c in ids if c != reply.connection_id]
        told = tell(reply.management, others, frame, remaining=reply.remaining)
        return MessageOutcome(reply.sent, verdict, told=told)
    plan = history.plan_resume(connection.user_id, message.since)
    replay = serve_resume(reply, message.since, plan)
    return MessageOutcome(reply.sent, verdict, replay=replay)


def _open_connections(
    user_id: str, asker: str, connections: ConnectionStore, history: HistoryStore, now: float
) -> list[str]:
    """The user's connections: the index's, the asker (open, whatever the index shows yet) and
    those noted on the user's counter too recently for the index to show them (it lags)."""
    noted = young_connections(history.recent_connections(user_id), now)
    return sorted({*connections.connection_ids_of(user_id), asker, *noted})
