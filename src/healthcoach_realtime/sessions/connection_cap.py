"""At most N open connections per user: the decision ``$connect`` takes. Pure.

The newest connection is refused (``429``) rather than the oldest closed: a new handshake can
never knock one of the user's working devices off (nor can a leaked token), and two tabs cannot
evict each other in a reconnect loop. Rows that only look open do not count: expired sessions
(the sweeper is closing them) never do, and at the limit each remaining row is checked with
``GetConnection`` first, since ``$disconnect`` is best effort and a lost one leaves its row for
up to two hours::

    cap = ConnectionCap(limit=10)
    cap.suspects({"c1": exp1, ...}, now)   # [] below the limit: nothing to check, accept
    cap.admits(live_after_checks)          # False at the limit: refuse
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from healthcoach_realtime.sessions.expiry import deliverable

__all__ = ["TOO_MANY_CONNECTIONS", "ConnectionCap"]

TOO_MANY_CONNECTIONS = "too many connections"


@dataclass(frozen=True)
class ConnectionCap:
    """``limit`` open connections per user; the next handshake is refused."""

    limit: int = 10

    def __post_init__(self) -> None:
        if self.limit < 1:
            raise ValueError("the connection limit must be at least 1")

    def suspects(self, expiries: Mapping[str, float], now: float) -> list[str]:
        """The live connections to check before deciding: none while below the limit."""
        live = deliverable(expiries, now)
        return live if len(live) >= self.limit else []

    def admits(self, open_connections: Collection[str]) -> bool:
        """True when one more connection stays within the limit."""
        return len(open_connections) < self.limit
