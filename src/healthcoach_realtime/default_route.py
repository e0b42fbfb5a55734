"""``$default``: answer a browser's ``ping`` and ``resume`` on its own connection.

The resume is served inline, in order, by this invocation (no queue, no second function): the
dispatcher records an event in the history *before* it looks up the user's connections, and
this connection's row was written before it could send ``resume``. So each event after
``since`` is either already in the history when it is read here (replayed), or dispatched after
that read, to a lookup that finds this connection (live). Nothing falls between; an event can
arrive both ways, and live frames can overtake the replay, so the client drops repeats by ``id``
(see clients/web/README.md). The residual window is GSI propagation (normally milliseconds).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from healthcoach_realtime.client_messages import (
    AskPresence,
    Invalid,
    Ping,
    Resume,
    error_frame,
    parse_message,
    pong_frame,
)
from healthcoach_realtime.dispatch.deliver import post_status
from healthcoach_realtime.frames import encode_frame
from healthcoach_realtime.history.resume import resync_frame
from healthcoach_realtime.presence import presence_frame

if TYPE_CHECKING:
    from mypy_boto3_apigatewaymanagementapi import ApiGatewayManagementApiClient

    from healthcoach_realtime.connections import ConnectionStore
    from healthcoach_realtime.history.store import HistoryStore

__all__ = ["answer_message"]


def answer_message(
    event: Mapping[str, Any],
    *,
    connections: ConnectionStore,
    history: HistoryStore,
    management: ApiGatewayManagementApiClient,
) -> int:
    """Post the answer frames to the sender, in order; returns how many were accepted."""
    connection_id = str(event.get("requestContext", {}).get("connectionId", ""))
    message = parse_message(event.get("body") if not event.get("isBase64Encoded") else None)
    frames = _answer(message, connection_id, connections, history)
    sent = 0
    for frame in frames:
        status = post_status(management, connection_id, encode_frame(frame))
        if status is None or not 200 <= status < 300:
            break  # gone or failing: the client reconnects and resumes again
        sent += 1
    return sent


def _answer(
    message: Ping | Resume | AskPresence | Invalid,
    connection_id: str,
    connections: ConnectionStore,
    history: HistoryStore,
) -> list[dict[str, Any]]:
    if isinstance(message, Ping):
        return [pong_frame()]
    if isinstance(message, Invalid):
        return [error_frame(message.message)]
    connection = connections.get(connection_id)
    if connection is None:
        return [error_frame("unknown connection; reconnect")]
    if isinstance(message, AskPresence):
        return [presence_frame(len(connections.connection_ids_of(connection.user_id)))]
    plan = history.plan_resume(connection.user_id, message.since)
    if plan.resync:
        return [resync_frame(plan.latest_seq)]
    return [e.frame() for e in plan.events]
