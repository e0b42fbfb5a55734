"""API Gateway WebSocket events in, Lambda proxy responses out: pure parsing and building.

The shapes are API Gateway's (real captures in ``tests/events/``). Browsers cannot set headers
on a WebSocket, so they send the token as a second subprotocol, ``healthcoach.v1, <jwt>``; the
answer must then name ``healthcoach.v1`` or Chrome fails the handshake::

    request = parse_connect(event)      # ConnectRequest(connection_id=..., subprotocol="healthcoach.v1", ...)
    return accepted(request.subprotocol)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "SUBPROTOCOL",
    "ConnectRequest",
    "DisconnectRequest",
    "accepted",
    "closed",
    "failed",
    "header_values",
    "offered_subprotocols",
    "parse_connect",
    "parse_disconnect",
    "query_parameter",
    "refused",
]

SUBPROTOCOL = "healthcoach.v1"

Event = Mapping[str, Any]
Response = dict[str, Any]


@dataclass(frozen=True)
class ConnectRequest:
    """What ``$connect`` needs from the event. The token is left out of ``repr`` (and so of logs)."""

    connection_id: str
    token: str = field(default="", repr=False)
    subprotocol: str | None = None
    source_ip: str = ""
    user_agent: str = ""


@dataclass(frozen=True)
class DisconnectRequest:
    """What ``$disconnect`` needs; status code and reason are for the logs only."""

    connection_id: str
    status_code: int | None = None
    reason: str = ""


def parse_connect(event: Event) -> ConnectRequest:
    """Token from ``?token=``, else from the subprotocols when ``healthcoach.v1`` is offered."""
    offers = offered_subprotocols(event)
    subprotocol = SUBPROTOCOL if SUBPROTOCOL in offers else None
    token = query_parameter(event, "token")
    if not token and subprotocol:
        token = next((offer for offer in offers if offer != SUBPROTOCOL), "")
    identity = _mapping(_request_context(event).get("identity"))
    user_agent = _text(identity.get("userAgent")) or next(iter(header_values(event, "User-Agent")), "")
    return ConnectRequest(
        connection_id=_connection_id(event),
        token=token,
        subprotocol=subprotocol,
        source_ip=_text(identity.get("sourceIp")),
        user_agent=user_agent,
    )


def parse_disconnect(event: Event) -> DisconnectRequest:
    """The connection id, with API Gateway's close code and reason when it sent them."""
    context = _request_context(event)
    code = context.get("disconnectStatusCode")
    return DisconnectRequest(
        connection_id=_connection_id(event),
        status_code=code if isinstance(code, int) and not isinstance(code, bool) else None,
        reason=_text(context.get("disconnectReason")),
    )


def header_values(event: Event, name: str) -> list[str]:
    """Every value of a header, matched case-insensitively; ``multiValueHeaders`` first."""
    wanted = name.lower()
    multi = _mapping(event.get("multiValueHeaders"))
    values = [
        value
        for key, listed in multi.items()
        if key.lower() == wanted and isinstance(listed, list)
        for value in listed
        if isinstance(value, str)
    ]
    if values:
        return values
    single = _mapping(event.get("headers"))
    return [value for key, value in single.items() if key.lower() == wanted and isinstance(value, str)]


def offered_subprotocols(event: Event) -> list[str]:
    """The client's ``Sec-WebSocket-Protocol`` offers, in order (comma lists split, blanks dropped)."""
    return [
        offer.strip()
        for value in header_values(event, "Sec-WebSocket-Protocol")
        for offer in value.split(",")
        if offer.strip()
    ]


def query_parameter(event: Event, name: str) -> str:
    """One query string parameter ("" when absent); API Gateway omits the key with no query."""
    value = _mapping(event.get("queryStringParameters")).get(name)
    if isinstance(value, str):
        return value
    listed = _mapping(event.get("multiValueQueryStringParameters")).get(name)
    if isinstance(listed, list) and listed and isinstance(listed[0], str):
        return listed[0]
    return ""


def accepted(subprotocol: str | None = None) -> Response:
    """200 for ``$connect``, naming the chosen subprotocol when the client offered one."""
    response: Response = {"statusCode": 200, "body": "Connected"}
    if subprotocol:
        response["headers"] = {"Sec-WebSocket-Protocol": subprotocol}
    return response


def refused(reason: str) -> Response:
    """401: API Gateway closes the handshake; nothing is recorded."""
    return {"statusCode": 401, "body": f"Unauthorized: {reason}"}


def failed() -> Response:
    """500: our fault (configuration, JWKS or DynamoDB), never the caller's."""
    return {"statusCode": 500, "body": "Internal server error"}


def closed() -> Response:
    """200 for ``$disconnect`` (API Gateway ignores it; the connection is already gone)."""
    return {"statusCode": 200, "body": "Disconnected"}


def _connection_id(event: Event) -> str:
    connection_id = _request_context(event).get("connectionId")
    if not isinstance(connection_id, str) or not connection_id:
        raise ValueError("not an API Gateway WebSocket event: requestContext.connectionId is missing")
    return connection_id


def _request_context(event: Event) -> Mapping[str, Any]:
    return _mapping(event.get("requestContext"))


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""
