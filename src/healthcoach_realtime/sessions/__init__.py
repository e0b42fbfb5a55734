"""Live sessions stay authorized and bounded: token expiry, refresh, sign-out, per-user and
per-connection limits (DESIGN.md, "Token lifetime", "Sign-out", "Bounds").

The decisions are pure (``expiry``, ``message_rate``, ``connection_cap``); ``sockets``,
``signout``, ``refresh`` and ``sweep`` do the I/O. The app's sign-out path needs one call::

    from healthcoach_realtime.sessions import disconnect_user
    disconnect_user("user-123")   # every connection of the user closed; returns how many
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["disconnect_user"]

if TYPE_CHECKING:
    from healthcoach_realtime.sessions.signout import disconnect_user


def __getattr__(name: str) -> Any:
    """Import lazily: ``connections`` imports ``sessions.expiry``, which must not import it back."""
    if name == "disconnect_user":
        from healthcoach_realtime.sessions.signout import disconnect_user

        return disconnect_user
    raise AttributeError(name)
