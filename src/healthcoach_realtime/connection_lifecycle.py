"""``$connect`` and ``$disconnect`` over plain data: the core the two Lambda handlers call.

A connection is recorded only for a verified token; ``user_id`` is the token's ``sub``, so a
user can only ever be reached on connections they opened themselves, and the row keeps the
token's ``exp`` as the session's end. A user at the connection limit is refused (429) before
anything is written (``sessions.connection_cap``). The handlers add logging and metrics from the
outcome; the local stack calls the same handlers, so it runs this too.

With ``recent`` (the history store), ``$connect`` also notes the connection on the user's seq
counter (``HistoryStore.note_connection``: the dispatcher's reservation returns it, consistent,
while the connections table's GSI may not show the row yet), the cap counts those notes too,
and ``$disconnect`` drops the note::

    outcome = open_connection(event, verifier, store, now=datetime.now(UTC), cap=ConnectionCap(10),
                              is_open=lambda cid: socket_is_open(management, cid))
    return outcome.response          # 200 (+ subprotocol), 401 or 429
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from healthcoach_realtime.connections import Connection, ConnectionStore
from healthcoach_realtime.exceptions import AuthError
from healthcoach_realtime.history.keys import RecentConnection
from healthcoach_realtime.history.store import stale_connections, young_connections
from healthcoach_realtime.sessions.connection_cap import TOO_MANY_CONNECTIONS, ConnectionCap
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
    from healthcoach_realtime.history.store import HistoryStore

__all__ = ["ConnectOutcome", "DisconnectOutcome", "close_connection", "open_connection", "too_many"]


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
    # The notes left on the user's counter: connections the index may not show yet.
    noted: Mapping[str, RecentConnection] = field(default_factory=dict)


def open_connection(
    event: dict[str, Any],
    verifier: TokenVerifier,
    store: ConnectionStore,
    *,
    now: datetime,
    cap: ConnectionCap | None = None,
    is_open: Callable[[str], bool] = lambda connection_id: True,
    recent: HistoryStore | None = None,
) -> ConnectOutcome:
    """Verify the token, check the user's connection limit, record the connection (and note it
    on the user's seq counter, with ``recent``).

    ``AuthError`` becomes a 401, a user at ``cap`` a 429; both write nothing. At the limit each
    live connection is checked with ``is_open`` (``GetConnection``) and a gone one's row removed
    before deciding. Anything else (no JWKS, DynamoDB down) propagates, for a 500.
    """
    request = parse_connect(event)
    try:
        claims = verifier.verify(request.token, now=now.timestamp())
    except AuthError as refusal:
        return ConnectOutcome(refused(str(refusal)), request.connection_id, refusal=str(refusal))
    noted = recent.recent_connections(claims.user_id) if recent is not None else {}
    prune = set(stale_connections(noted, now.timestamp()))
    young = young_connections(noted, now.timestamp())
    if cap is not None and not _within(cap, store, claims.user_id, now.timestamp(), is_open, young, prune):
        return ConnectOutcome(too_many(), request.connection_id, refusal=TOO_MANY_CONNECTIONS)
    connection = Connection(
        connection_id=request.connection_id,
        user_id=claims.user_id,
        connected_at=now.astimezone(UTC).isoformat(timespec="milliseconds"),
        ttl=int(now.timestamp()) + CONNECTION_TTL_SECONDS,
        source_ip=request.source_ip,
        user_agent=request.user_agent,
        expires_at=int(claims.expires_at),
    )
    store.add(connection)
    if recent is not None:
        note = RecentConnection(connection.connection_id, connection.expires_at, now.timestamp())
        recent.note_connection(claims.user_id, note, prune=prune)
    return ConnectOutcome(accepted(request.subprotocol), request.connection_id, connection=connection)


def too_many() -> dict[str, Any]:
    """The handshake's answer for a user at the limit: 429, which refuses the upgrade."""
    return {"statusCode": 429, "body": f"Too Many Requests: {TOO_MANY_CONNECTIONS}"}


def _within(
    cap: ConnectionCap,
    store: ConnectionStore,
    user_id: str,
    now: float,
    is_open: Callable[[str], bool],
    young: dict[str, int],
    prune: set[str],
) -> bool:
    """True when the user may open one more connection: the GSI's rows and the ``young`` notes
    (connections the GSI may not show yet) count. Stale rows found on the way are removed, and
    their notes added to ``prune``."""
    suspects = cap.suspects(young | store.sessions_of(user_id), now)
    if not suspects:
        return True
    still_open = []
    for connection_id in suspects:
        if is_open(connection_id):
            still_open.append(connection_id)
        else:
            store.remove(connection_id)
            prune.add(connection_id)
    return cap.admits(still_open)


def close_connection(
    event: dict[str, Any], store: ConnectionStore, *, recent: HistoryStore | None = None
) -> DisconnectOutcome:
    """Forget the connection (and its note on the user's counter, with ``recent``); a second
    ``$disconnect`` for it is harmless."""
    request = parse_disconnect(event)
    removed = store.remove(request.connection_id)
    noted: Mapping[str, RecentConnection] = {}
    if removed is not None and recent is not None:
        noted = recent.forget_connection(removed.user_id, request.connection_id)
    return DisconnectOutcome(closed(), request, removed, noted)
