"""When a session may still receive data, and which sessions are due to be closed. Pure.

A connection's session lasts until its token's ``exp`` (epoch seconds, kept in the row as ``exp``
and moved forward by ``{"action": "auth"}``). From that second on nothing is posted to it, and
the sweeper closes it. A row without ``exp`` (written before sessions had one) counts as
expired: failing closed costs that client one reconnect, with a fresh token::

    is_live(expires_at=1_700_000_000, now=time.time())
    deliverable({"c1": 1_700_000_000, "c2": 0}, now=...)   # -> ["c1"] while c1's token is valid
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = ["ExpiredSession", "deliverable", "due_for_close", "is_live"]


def is_live(expires_at: float, now: float) -> bool:
    """True until the token's ``exp``; a session without one (``0``) is never live."""
    return expires_at > 0 and now < expires_at


def deliverable(expiries: Mapping[str, float], now: float) -> list[str]:
    """The connection ids (in the mapping's order) whose session is live at ``now``."""
    return [connection_id for connection_id, exp in expiries.items() if is_live(exp, now)]


@dataclass(frozen=True)
class ExpiredSession:
    """A row the sweeper found: enough to close the socket and tell the user's other devices."""

    connection_id: str
    user_id: str
    expires_at: int


def due_for_close(sessions: Iterable[ExpiredSession], now: float) -> list[ExpiredSession]:
    """The sessions that are no longer live, oldest ``exp`` first (the longest overdue go first)."""
    due = [s for s in sessions if not is_live(s.expires_at, now)]
    return sorted(due, key=lambda s: (s.expires_at, s.connection_id))
