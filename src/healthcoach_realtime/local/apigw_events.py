"""The events API Gateway sends a WebSocket API's Lambda integrations, built from plain data.

Pure: no sockets, no clock, no randomness unless passed in. The local gateway feeds these to the
real handlers, so the handlers cannot tell the local stack from AWS. Shapes follow real
captures (``tests/events/apigw_connect.json``, ``apigw_disconnect.json``)::

    api = ApiContext(api_id="hcrealtime", stage="local", domain_name="127.0.0.1:3001")
    peer = Peer(connection_id=new_connection_id(), connected_at_ms=now_ms, source_ip="127.0.0.1")
    event = connect_event(api, peer, headers=[("Host", "127.0.0.1:3001")], query=[("token", "...")],
                          now_ms=now_ms, request_id=new_request_id())
    select_route('{"action": "ping"}', {"$connect", "$default", "ping"})   # -> "ping"
"""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CONNECT",
    "DEFAULT",
    "DISCONNECT",
    "ApiContext",
    "Peer",
    "connect_event",
    "disconnect_event",
    "message_event",
    "new_connection_id",
    "new_request_id",
    "request_time",
    "select_route",
]

CONNECT = "$connect"
DISCONNECT = "$disconnect"
DEFAULT = "$default"
# The route selection expression ``$request.body.action``: the JSON body's ``action`` field.
ROUTE_SELECTION_FIELD = "action"

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class ApiContext:
    """The API the events claim to come from; ``domain_name`` is the Host the client dialled."""

    api_id: str
    stage: str
    domain_name: str


@dataclass(frozen=True)
class Peer:
    """What API Gateway knows about one connection for its whole life."""

    connection_id: str
    connected_at_ms: int
    source_ip: str = ""
    user_agent: str = ""


def new_connection_id(random_bytes: Callable[[int], bytes] = os.urandom) -> str:
    """An id shaped like API Gateway's (16 characters of URL-safe base64, e.g. ``BFHPhfCWIAMCKlQ=``)."""
    return base64.urlsafe_b64encode(random_bytes(11)).decode("ascii")


def new_request_id(random_bytes: Callable[[int], bytes] = os.urandom) -> str:
    """A request id in the same shape (API Gateway uses one for ``requestId`` and ``extendedRequestId``)."""
    return new_connection_id(random_bytes)


def request_time(epoch_ms: int) -> str:
    """``requestTime`` as API Gateway writes it: ``11/Nov/2024:11:35:24 +0000`` (always UTC)."""
    t = time.gmtime(epoch_ms / 1000)
    clock = f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"
    return f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year}:{clock} +0000"


def connect_event(
    api: ApiContext,
    peer: Peer,
    *,
    headers: Sequence[tuple[str, str]],
    query: Sequence[tuple[str, str]],
    now_ms: int,
    request_id: str,
) -> dict[str, Any]:
    """The ``$connect`` event: the handshake's headers and query string, and ``requestContext``.

    API Gateway adds ``X-Forwarded-*`` headers and leaves out the query keys when there is no
    query string.
    """
    all_headers = [*headers, ("X-Forwarded-For", peer.source_ip), ("X-Forwarded-Proto", "http")]
    event: dict[str, Any] = {
        "headers": _single_values(all_headers),
        "multiValueHeaders": _multi_values(all_headers),
    }
    if query:
        event["queryStringParameters"] = _single_values(query)
        event["multiValueQueryStringParameters"] = _multi_values(query)
    identity = {"userAgent": peer.user_agent, "sourceIp": peer.source_ip}
    event["requestContext"] = _request_context(
        api, peer, CONNECT, "CONNECT", now_ms=now_ms, request_id=request_id, identity=identity
    )
    event["isBase64Encoded"] = False
    return event


def message_event(
    api: ApiContext,
    peer: Peer,
    *,
    route_key: str,
    body: str | bytes,
    now_ms: int,
    request_id: str,
    message_id: str,
) -> dict[str, Any]:
    """A message's event: routed ``route_key``, the body (binary frames base64-encoded), no headers."""
    context = _request_context(
        api,
        peer,
        route_key,
        "MESSAGE",
        now_ms=now_ms,
        request_id=request_id,
        identity={"userAgent": peer.user_agent, "sourceIp": peer.source_ip},
    )
    context["messageId"] = message_id
    is_binary = isinstance(body, bytes)
    text = base64.b64encode(body).decode("ascii") if isinstance(body, bytes) else body
    return {"requestContext": context, "body": text, "isBase64Encoded": is_binary}


def disconnect_event(
    api: ApiContext,
    peer: Peer,
    *,
    status_code: int,
    reason: str,
    now_ms: int,
    request_id: str,
) -> dict[str, Any]:
    """The ``$disconnect`` event, with the close code and reason (1006 and "" when the peer vanished)."""
    headers = [("Host", api.domain_name), ("x-api-key", ""), ("X-Forwarded-For", ""), ("x-restapi", "")]
    identity = {"sourceIp": peer.source_ip}
    context = _request_context(
        api, peer, DISCONNECT, "DISCONNECT", now_ms=now_ms, request_id=request_id, identity=identity
    )
    context["disconnectStatusCode"] = status_code
    context["disconnectReason"] = reason
    return {
        "headers": _single_values(headers),
        "multiValueHeaders": _multi_values(headers),
        "requestContext": context,
        "isBase64Encoded": False,
    }


def select_route(body: str | bytes, route_keys: Collection[str]) -> str | None:
    """The route of a message by ``$request.body.action``; ``$default`` otherwise; None if no route.

    A binary frame, a body that is not a JSON object, or an ``action`` naming no route goes to
    ``$default``. With no ``$default`` route API Gateway answers the client "Forbidden".
    """
    action = _action_of(body)
    if action is not None and action in route_keys and action not in (CONNECT, DISCONNECT):
        return action
    return DEFAULT if DEFAULT in route_keys else None


def _action_of(body: str | bytes) -> str | None:
    if isinstance(body, bytes):
        return None
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):  # not JSON, or nested too deeply to parse: $default
        return None
    action = parsed.get(ROUTE_SELECTION_FIELD) if isinstance(parsed, dict) else None
    return action if isinstance(action, str) else None


def _request_context(
    api: ApiContext,
    peer: Peer,
    route_key: str,
    event_type: str,
    *,
    now_ms: int,
    request_id: str,
    identity: dict[str, str],
) -> dict[str, Any]:
    return {
        "routeKey": route_key,
        "eventType": event_type,
        "extendedRequestId": request_id,
        "requestTime": request_time(now_ms),
        "messageDirection": "IN",
        "stage": api.stage,
        "connectedAt": peer.connected_at_ms,
        "requestTimeEpoch": now_ms,
        "identity": identity,
        "requestId": request_id,
        "domainName": api.domain_name,
        "connectionId": peer.connection_id,
        "apiId": api.api_id,
    }


def _single_values(pairs: Sequence[tuple[str, str]]) -> dict[str, str]:
    """API Gateway's ``headers``/``queryStringParameters``: the last value of each name."""
    return dict(pairs)


def _multi_values(pairs: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for name, value in pairs:
        grouped.setdefault(name, []).append(value)
    return grouped
