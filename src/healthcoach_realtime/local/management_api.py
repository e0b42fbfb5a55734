"""The @connections API (``POST``/``GET``/``DELETE /<stage>/@connections/{id}``) as AWS answers it.

Bodies, status codes and the ``x-amzn-ErrorType`` header follow the service model botocore and
the AWS SDK for JavaScript parse, so both work unchanged against it (moto's own version never
answers 410, so it cannot stand in for this):

- POST: the raw body is sent as one frame (text if it is UTF-8, else binary); 200, no body.
- GET: 200 ``{"connectedAt", "identity": {"sourceIp", "userAgent"}, "lastActiveAt"}`` (the wire
  names; boto3 shows them as ``ConnectedAt``, ``Identity``, ``LastActiveAt``).
- DELETE: closes the socket, 204; ``$disconnect`` follows.
- Unknown or closed connection: 410 ``GoneException``; data over 128 KB: 413
  ``PayloadTooLargeException``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from aiohttp import WSCloseCode, web

from healthcoach_realtime.frames import MAX_MESSAGE_BYTES
from healthcoach_realtime.local.apigw_events import new_request_id
from healthcoach_realtime.local.live_connections import ConnectionRegistry, LiveConnection, iso_time

__all__ = ["ManagementApi"]

# What API Gateway's DeleteConnection closes the socket with.
DELETED = (int(WSCloseCode.OK), "")


class ManagementApi:
    """Request handlers for ``/<stage>/@connections/{connection_id}``."""

    def __init__(
        self,
        registry: ConnectionRegistry,
        *,
        max_data_bytes: int = MAX_MESSAGE_BYTES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._registry = registry
        self._max_data_bytes = max_data_bytes
        self._clock = clock

    def add_routes(self, app: web.Application, stage: str) -> None:
        """Mount POST, GET and DELETE at ``/<stage>/@connections/{connection_id}``."""
        path = f"/{stage}/@connections/{{connection_id}}"
        app.router.add_post(path, self.post_to_connection)
        app.router.add_get(path, self.get_connection)
        app.router.add_delete(path, self.delete_connection)

    async def post_to_connection(self, request: web.Request) -> web.Response:
        """PostToConnection."""
        data = await request.read()
        return await self.post(request.match_info["connection_id"], data)

    async def post(self, connection_id: str, data: bytes) -> web.Response:
        """PostToConnection's answer."""
        connection = self._registry.get(connection_id)
        if connection is None:
            return _gone()
        if len(data) > self._max_data_bytes:
            return _error(413, "PayloadTooLargeException", "Request entity too large")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        try:
            if text is None:
                await connection.socket.send_bytes(data)
            else:
                await connection.socket.send_str(text)
        except (ConnectionError, RuntimeError):
            return _gone()
        connection.touch(self._clock())
        return web.Response(status=200, headers=_request_id_header())

    async def get_connection(self, request: web.Request) -> web.Response:
        """GetConnection."""
        connection = self._connection(request)
        if connection is None:
            return _gone()
        peer = connection.peer
        body = {
            "connectedAt": iso_time(peer.connected_at_ms / 1000),
            "identity": {"sourceIp": peer.source_ip, "userAgent": peer.user_agent},
            "lastActiveAt": iso_time(connection.last_active),
        }
        return _json(200, body)

    async def delete_connection(self, request: web.Request) -> web.Response:
        """DeleteConnection."""
        connection = self._connection(request)
        if connection is None:
            return _gone()
        await connection.close(*DELETED)
        return web.Response(status=204, headers=_request_id_header())

    def _connection(self, request: web.Request) -> LiveConnection | None:
        return self._registry.get(request.match_info["connection_id"])


def _gone() -> web.Response:
    return _error(410, "GoneException", None)


def _error(status: int, error_type: str, message: str | None) -> web.Response:
    return _json(status, {"message": message}, {"x-amzn-ErrorType": error_type})


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps(body, separators=(",", ":")).encode("utf-8"),
        content_type="application/json",
        headers={**_request_id_header(), **(headers or {})},
    )


def _request_id_header() -> dict[str, str]:
    return {"x-amzn-RequestId": new_request_id()}
