"""Every frame a browser receives, its encoding, its size limit, and posting it to a connection.

The builders are pure functions over plain data; ``post_status`` is the one PostToConnection
call every sender uses (the dispatcher, ``$default``'s answers, presence). The wire format is the
protocol in DESIGN.md; the browser client and the integration tests check it.

One WebSocket text frame per event, keeping the reference guide's ``{type, data}`` shape and
adding ``id`` (for de-duplication), ``time`` and, once the history gave it one, ``seq``::

    {"type": "foodLogCreated", "data": {...}, "id": "<event id>", "time": "2026-11-29T10:00:00Z", "seq": 7}

An event is encoded by ``encode_event`` alone, live (the dispatcher) and replayed (a resume), so
both are the same bytes. The control frames: ``pong``, ``error``, ``authorized``, ``presence``,
``resync`` and ``resumed``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_apigatewaymanagementapi import ApiGatewayManagementApiClient

__all__ = [
    "MAX_MESSAGE_BYTES",
    "SEQ_BYTES",
    "Frame",
    "authorized_frame",
    "encode_event",
    "encode_frame",
    "error_frame",
    "event_frame",
    "pong_frame",
    "post_status",
    "presence_frame",
    "resumed_frame",
    "resync_frame",
]

# API Gateway's WebSocket message limit (128 KB); PostToConnection refuses larger data (413).
MAX_MESSAGE_BYTES = 128 * 1024
# What ``seq`` adds to an encoded event frame at most: ``,"seq":`` and up to 20 digits.
SEQ_BYTES = len(',"seq":') + 20

# One frame before encoding: a JSON object with a ``type``.
Frame = dict[str, Any]


def event_frame(event_type: str, data: Any, event_id: str, time: str, *, seq: int | None = None) -> Frame:
    """The frame for one domain event; ``seq`` is left out until the history has given one."""
    frame: Frame = {"type": event_type, "data": data, "id": event_id, "time": time}
    if seq is not None:
        frame["seq"] = seq
    return frame


def encode_event(event_type: str, data: Any, event_id: str, time: str, *, seq: int | None = None) -> bytes:
    """The bytes of one event's frame: what the dispatcher posts and what a resume replays."""
    return encode_frame(event_frame(event_type, data, event_id, time, seq=seq))


def pong_frame(now: datetime | None = None) -> Frame:
    """The answer to a ping, with the server's time (ISO 8601, UTC, milliseconds)."""
    moment = now or datetime.now(UTC)
    return {"type": "pong", "time": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")}


def error_frame(message: str) -> Frame:
    """The answer to a message that cannot be served; ``message`` names no data."""
    return {"type": "error", "message": message}


def authorized_frame(expires_at: int) -> Frame:
    """The answer to a successful ``auth``: the session's new end, epoch seconds."""
    return {"type": "authorized", "exp": expires_at}


def presence_frame(connections: int) -> Frame:
    """How many connections the user has open."""
    return {"type": "presence", "connections": connections}


def resync_frame(latest_seq: int) -> Frame:
    """Refetch everything; live events continue after ``latestSeq``."""
    return {"type": "resync", "latestSeq": latest_seq}


def resumed_frame(through: int, *, more: bool = False) -> Frame:
    """Every event up to seq ``through`` was sent (``since`` when none was); with ``more`` the
    replay was cut short there (time, or posts that kept failing): resume again from ``through``.

    A client that gets neither this nor ``resync`` resumes again from where it last asked.
    """
    frame: Frame = {"type": "resumed", "through": through}
    if more:
        frame["more"] = True
    return frame


def encode_frame(frame: Frame) -> bytes:
    """Compact UTF-8 JSON, the bytes PostToConnection sends."""
    return json.dumps(frame, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def post_status(client: ApiGatewayManagementApiClient, connection_id: str, data: bytes) -> int | None:
    """POST one encoded frame; the HTTP status, or ``None`` when no answer came (refused, timed out).

    The status comes from the response, not the exception class: a 410 without the
    ``x-amzn-ErrorType: GoneException`` header is a plain ``ClientError``.
    """
    try:
        response = client.post_to_connection(ConnectionId=connection_id, Data=data)
    except ClientError as exc:
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if status is None:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            return int(code) if code.isdigit() else None
        return int(status)
    except BotoCoreError:
        return None
    return int(response["ResponseMetadata"]["HTTPStatusCode"])
