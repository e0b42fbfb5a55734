"""``{"action": "auth", "token": <jwt>}``: extend an open session without reconnecting.

The token is verified exactly as ``$connect`` verifies (the same ``TokenVerifier``) and must name
the same user (``sub``) as the connection. Only then does the row's ``exp`` move to the new
token's, in one conditional write that also checks the row still belongs to that user. Any
failure answers an ``error`` frame and writes nothing::

    outcome = refresh_session(token, connection, verifier, store, now=time.time())
    outcome.frame   # {"type": "authorized", "exp": 1767225600} or {"type": "error", ...}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from healthcoach_realtime.exceptions import AuthError, KeySetUnavailableError
from healthcoach_realtime.frames import authorized_frame, error_frame

if TYPE_CHECKING:
    from healthcoach_realtime.auth.verifier import TokenVerifier
    from healthcoach_realtime.connections import Connection, ConnectionStore

__all__ = ["ANOTHER_USER", "RefreshOutcome", "refresh_session"]

ANOTHER_USER = "the token is another user's"


@dataclass(frozen=True)
class RefreshOutcome:
    """The frame to answer with; ``refusal`` says why nothing changed (empty on success)."""

    frame: dict[str, Any]
    refusal: str = ""

    @property
    def refreshed(self) -> bool:
        return not self.refusal


def refresh_session(
    token: str, connection: Connection, verifier: TokenVerifier, store: ConnectionStore, *, now: float
) -> RefreshOutcome:
    """Verify ``token`` for ``connection``'s user and move the session's end to its ``exp``."""
    try:
        claims = verifier.verify(token, now=now)
    except AuthError as refusal:
        return _refused(str(refusal))
    except KeySetUnavailableError:  # our side cannot verify now: the client may try again
        return _refused("tokens cannot be verified right now; try again", reason="key set unavailable")
    if claims.user_id != connection.user_id:
        return _refused(ANOTHER_USER)
    expires_at = int(claims.expires_at)
    if not store.extend_session(connection.connection_id, connection.user_id, expires_at):
        return _refused("unknown connection; reconnect", reason="connection gone")
    return RefreshOutcome(authorized_frame(expires_at))


def _refused(message: str, *, reason: str = "") -> RefreshOutcome:
    return RefreshOutcome(error_frame(f"auth refused: {message}"), refusal=reason or message)
