"""``$connect`` and ``$disconnect`` over plain data: the core the two Lambda handlers call.

A connection is recorded only for a verified token; ``user_id`` is the token's ``sub``, so a
user can only ever be reached on connections they opened themselves. The handlers add logging
and metrics from the outcome; the local stack calls the same handlers, so it runs this too::

    outcome = open_connection(event, verifier, store, now=datetime.now(UTC))
    return outcome.response          # 200 (+ subprotocol) or 401
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from healthcoach_realtime.connections import Connection, ConnectionStore
from healthcoach_realtime.exceptions import AuthError
from healthcoach_realtime.settings import CONNECTION_TTL_SECONDS
from healthcoach_realtime.websocket_events import (
    DisconnectRequest,
    accepted,
    closed,
    parse_connect,
    parse_disconnect,
    refused,
)

if TYPE_CHECKING:
    from healthcoach_realtime.auth.verifier import TokenVerifier

__all__ = ["ConnectOutcome", "DisconnectOutcome", "close_connection", "open_connection"]


@dataclass(frozen=True)
class ConnectOutcome:
    """The response, plus what was recorded (accepted) or why not (refused)."""

    response: dict[str, Any]
    connection_id: str
    connection: Connection | None = None
    refusal: str = ""


@dataclass(frozen=True)
class DisconnectOutcome:
    """The response and the request it answered."""

    response: dict[str, Any]
    request: DisconnectRequest
    connection: Connection | None = None


def open_connection(
    event: dict[str, Any], verifier: TokenVerifier, store: ConnectionStore, *, now: datetime
) -> ConnectOutcome:
    """Verify the token and record the connection; a refused token writes nothing.

    ``AuthError`` becomes a 401; anything else (no JWKS, DynamoDB down) propagates, for the
    handler to answer 500.
    """
    request = parse_connect(event)
    try:
        claims = verifier.verify(request.token, now=now.timestamp())
    except AuthError as refusal:
        return ConnectOutcome(refused(str(refusal)), request.connection_id, refusal=str(refusal))
    connection = Connection(
        connection_id=request.connection_id,
        user_id=claims.user_id,
        connected_at=now.astimezone(UTC).isoformat(timespec="milliseconds"),
        ttl=int(now.timestamp()) + CONNECTION_TTL_SECONDS,
        source_ip=request.source_ip,
        user_agent=request.user_agent,
    )
    store.add(connection)
    return ConnectOutcome(accepted(request.subprotocol), request.connection_id, connection=connection)


def close_connection(event: dict[str, Any], store: ConnectionStore) -> DisconnectOutcome:
    """Forget the connection; a second ``$disconnect`` for it is harmless."""
    request = parse_disconnect(event)
    removed = store.remove(request.connection_id)
    return DisconnectOutcome(closed(), request, removed)
