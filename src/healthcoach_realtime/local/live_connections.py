"""The open WebSockets of the local gateway, by connection id: what the @connections API reaches.

The gateway adds a connection once its handshake is complete (API Gateway answers 410 to a
post during ``$connect``) and removes it the moment the socket closes, before ``$disconnect``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from healthcoach_realtime.local.apigw_events import Peer

if TYPE_CHECKING:
    from aiohttp import web

__all__ = ["ConnectionRegistry", "LiveConnection", "iso_time"]


def iso_time(epoch_seconds: float) -> str:
    """ISO 8601 in UTC with milliseconds, as the @connections API writes ``connectedAt``."""
    moment = datetime.fromtimestamp(epoch_seconds, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(eq=False)
class LiveConnection:
    """One open socket; ``close_code``/``close_reason`` are set when the server closes it."""

    peer: Peer
    socket: web.WebSocketResponse
    last_active: float
    close_code: int | None = None
    close_reason: str = ""

    @property
    def connection_id(self) -> str:
        return self.peer.connection_id

    @property
    def is_open(self) -> bool:
        return self.close_code is None and not self.socket.closed

    def touch(self, now: float) -> None:
        """A message went one way or the other: the idle clock restarts."""
        self.last_active = now

    async def close(self, code: int, reason: str) -> None:
        """Close from the server side, remembering why (for ``$disconnect``); a second call is a no-op."""
        if self.close_code is not None:
            return
        self.close_code, self.close_reason = code, reason
        await self.socket.close(code=code, message=reason.encode("utf-8"))


class ConnectionRegistry:
    """Open connections by id. Used from the event loop only, so it needs no lock."""

    def __init__(self) -> None:
        self._by_id: dict[str, LiveConnection] = {}

    def add(self, connection: LiveConnection) -> None:
        self._by_id[connection.connection_id] = connection

    def remove(self, connection_id: str) -> None:
        self._by_id.pop(connection_id, None)

    def get(self, connection_id: str) -> LiveConnection | None:
        """The connection if it is still open, else None (the @connections API's 410)."""
        connection = self._by_id.get(connection_id)
        return connection if connection is not None and connection.is_open else None

    def snapshot(self) -> list[LiveConnection]:
        """A copy to iterate while connections come and go."""
        return list(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)

    def __iter__(self) -> Iterator[LiveConnection]:
        return iter(self.snapshot())
