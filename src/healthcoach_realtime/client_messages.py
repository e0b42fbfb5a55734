"""What a browser may send on an open connection. Pure.

``{"action": "ping"}`` -> ``{"type": "pong", "time": ...}`` (keeps the connection inside API
Gateway's 10-minute idle timeout); ``{"action": "resume", "since": N}`` -> the events after seq N
(or one ``resync``); ``{"action": "presence"}`` -> ``{"type": "presence", "connections": N}``;
``{"action": "auth", "token": <jwt>}`` -> ``{"type": "authorized", "exp": <epoch seconds>}`` (the
session now lasts until the new token's ``exp``); anything else -> ``{"type": "error", "message": ...}``.
The answers are built in ``frames``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

__all__ = [
    "MAX_SINCE",
    "AskPresence",
    "Authorize",
    "ClientMessage",
    "Invalid",
    "Ping",
    "Resume",
    "parse_message",
]

# The largest integer a browser's JSON keeps exact (Number.MAX_SAFE_INTEGER); no seq gets near it.
# A larger ``since`` would reach DynamoDB as a number beyond its 38 digits: a ValidationException,
# so the client would get no answer at all instead of this error.
MAX_SINCE = 2**53 - 1


@dataclass(frozen=True)
class Ping:
    """A heartbeat."""


@dataclass(frozen=True)
class AskPresence:
    """How many connections does my user have (asked once open: $connect cannot post to it)?"""


@dataclass(frozen=True)
class Resume:
    """Replay what came after ``since`` (the last seq the client saw; 0 for none)."""

    since: int


@dataclass(frozen=True)
class Authorize:
    """Extend the session with a fresh token (verified as ``$connect`` verifies; same ``sub``)."""

    token: str = field(repr=False)  # never in a repr, hence never in a log line or traceback


@dataclass(frozen=True)
class Invalid:
    """A message no route understands; ``message`` is safe to echo (names no data)."""

    message: str


ClientMessage = Ping | Resume | AskPresence | Authorize | Invalid


def parse_message(body: str | None) -> ClientMessage:
    """Parse one message body (binary frames arrive base64-encoded and are refused)."""
    try:
        document = json.loads(body or "")
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser's stack
        return Invalid("messages must be JSON objects with an 'action'")
    if not isinstance(document, dict):
        return Invalid("messages must be JSON objects with an 'action'")
    action = document.get("action")
    if action == "ping":
        return Ping()
    if action == "presence":
        return AskPresence()
    if action == "resume":
        since = document.get("since")
        if isinstance(since, bool) or not isinstance(since, int) or not 0 <= since <= MAX_SINCE:
            return Invalid(f"resume needs 'since': the last seq received, an integer from 0 to {MAX_SINCE}")
        return Resume(since)
    if action == "auth":
        token = document.get("token")
        if not isinstance(token, str) or not token:
            return Invalid("auth needs 'token': a fresh token of the same user")
        return Authorize(token)
    return Invalid(f"unknown action {str(action)[:40]!r}; expected 'ping', 'resume', 'presence' or 'auth'")
