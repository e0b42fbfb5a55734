"""HealthCoach Realtime: per-user real-time push over API Gateway WebSockets.

Business code emits typed domain events; the dispatcher delivers them to every open
connection of the user::

    from healthcoach_realtime import emit
    event_id = emit("user-123", "foodLogCreated", {"id": "f1", "name": "Apple", "calories": 95})

The app's sign-out path closes the user's open connections::

    from healthcoach_realtime import disconnect_user
    disconnect_user("user-123")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["EventType", "disconnect_user", "emit", "emit_many"]

if TYPE_CHECKING:
    from healthcoach_realtime.catalogue import EventType
    from healthcoach_realtime.emitter import emit, emit_many
    from healthcoach_realtime.sessions.signout import disconnect_user


def __getattr__(name: str) -> Any:
    """Import lazily, so a Lambda handler importing one submodule pays only for that one."""
    if name in ("emit", "emit_many"):
        from healthcoach_realtime import emitter

        return getattr(emitter, name)
    if name == "disconnect_user":
        from healthcoach_realtime.sessions.signout import disconnect_user

        return disconnect_user
    if name == "EventType":
        from healthcoach_realtime.catalogue import EventType

        return EventType
    raise AttributeError(name)
