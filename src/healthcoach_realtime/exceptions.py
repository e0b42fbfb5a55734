"""Every error this package raises on purpose, so callers can catch precisely."""

from __future__ import annotations

__all__ = [
    "AuthError",
    "ConfigurationError",
    "EmitError",
    "EventTooLargeError",
    "InvalidEventError",
    "KeySetUnavailableError",
    "RealtimeError",
    "UnknownEventTypeError",
]


class RealtimeError(Exception):
    """Base class of this package's errors."""


class ConfigurationError(RealtimeError):
    """A required setting is missing or malformed."""


class InvalidEventError(RealtimeError, ValueError):
    """An event does not match its schema; ``field`` and ``rule`` say where and why."""

    def __init__(self, event_type: str, message: str, *, field: str = "", rule: str = "") -> None:
        self.event_type = event_type
        self.field = field
        self.rule = rule
        super().__init__(f"invalid {event_type}: {message}")


class UnknownEventTypeError(InvalidEventError):
    """The event type is not in the catalogue (``schemas/``)."""

    def __init__(self, event_type: str) -> None:
        super().__init__(event_type, f"unknown event type {event_type!r}", field="type", rule="enum")


class EventTooLargeError(InvalidEventError):
    """The frame would exceed API Gateway's 128 KB WebSocket message limit."""


class EmitError(RealtimeError):
    """EventBridge kept refusing some entries after retries; ``failed`` lists them."""

    def __init__(self, message: str, failed: list[dict[str, str]]) -> None:
        self.failed = failed
        super().__init__(message)


class AuthError(RealtimeError):
    """A token was refused. The message names the reason and never contains the token."""


class KeySetUnavailableError(RealtimeError):
    """The issuer's JWKS could not be fetched: our fault, not the caller's (500, not 401)."""
