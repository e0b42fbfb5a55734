"""API Gateway's WebSocket side, emulated: handshake via ``$connect``, routing, limits, ``$disconnect``.

A real WebSocket server (aiohttp) that calls the real handlers with the events API Gateway
sends (``apigw_events``):

- ``$connect`` decides: any status but 200 refuses the upgrade with that status; the
  ``Sec-WebSocket-Protocol`` it answers is the one echoed to the client (none: none echoed,
  and a browser that offered one fails the handshake, as with API Gateway).
- Messages go to the route named by ``$request.body.action``, else ``$default``; with neither
  the client gets API Gateway's ``{"message": "Forbidden", ...}``.
- Limits: a message over ``max_message_bytes`` closes with 1009; no message either way for
  ``idle_timeout`` or a connection older than ``max_lifetime`` closes with 1001.
- ``$disconnect`` follows every close, with the code and reason (1006 when the peer vanished
  without a close frame; ``disconnect_on_abort=False`` skips that one, since API Gateway
  delivers ``$disconnect`` best effort).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import WSCloseCode, WSMsgType, web
from aiohttp.http_websocket import WebSocketError

from healthcoach_realtime.frames import MAX_MESSAGE_BYTES
from healthcoach_realtime.local.apigw_events import (
    CONNECT,
    DISCONNECT,
    ApiContext,
    Peer,
    connect_event,
    disconnect_event,
    message_event,
    new_connection_id,
    new_request_id,
    select_route,
)
from healthcoach_realtime.local.live_connections import ConnectionRegistry, LiveConnection

__all__ = ["Gateway", "Limits"]

log = logging.getLogger(__name__)
# aiohttp warns about subprotocol offers it does not pick, quoting them: they carry the token.
logging.getLogger("aiohttp.websocket").setLevel(logging.ERROR)

GOING_AWAY = (int(WSCloseCode.GOING_AWAY), "Going away")
ABNORMAL = int(WSCloseCode.ABNORMAL_CLOSURE)
MESSAGE_TOO_BIG = (int(WSCloseCode.MESSAGE_TOO_BIG), "Message too big")


@dataclass(frozen=True)
class Limits:
    """API Gateway's WebSocket limits (seconds and bytes); tests shorten them."""

    max_message_bytes: int = MAX_MESSAGE_BYTES
    idle_timeout: float = 600.0
    max_lifetime: float = 7200.0

    @property
    def check_interval(self) -> float:
        """How often idle and lifetime are checked: fine enough for short test limits."""
        return max(0.05, min(1.0, self.idle_timeout / 4, self.max_lifetime / 4))


class Function(Protocol):
    """What the gateway invokes: a function's execution environments (``FunctionPool``)."""

    async def invoke_async(self, event: dict[str, Any], executor: Executor | None = None) -> Any: ...


class Gateway:
    """The WebSocket endpoint: one ``handle`` call per client connection."""

    def __init__(
        self,
        *,
        api_id: str,
        stage: str,
        routes: Mapping[str, Function],
        registry: ConnectionRegistry,
        limits: Limits,
        executor: Executor | None = None,
        disconnect_on_abort: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._api_id = api_id
        self._stage = stage
        self._routes = dict(routes)
        self._registry = registry
        self._limits = limits
        self._executor = executor
        self._disconnect_on_abort = disconnect_on_abort
        self._clock = clock
        self._tasks: set[asyncio.Task[Any]] = set()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Handshake, then serve messages until the socket closes, then ``$disconnect``."""
        offers = [
            p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",") if p.strip()
        ]
        if not web.WebSocketResponse(protocols=offers).can_prepare(request).ok:
            return web.Response(status=426, text="Upgrade Required", headers={"Upgrade": "websocket"})
        api = ApiContext(api_id=self._api_id, stage=self._stage, domain_name=request.host)
        now = self._clock()
        peer = Peer(
            connection_id=new_connection_id(),
            connected_at_ms=int(now * 1000),
            source_ip=request.remote or "",
            user_agent=request.headers.get("User-Agent", ""),
        )
        answer = await self._connect(api, peer, request)
        if isinstance(answer, web.Response):
            return answer
        socket = web.WebSocketResponse(
            protocols=(answer,) if answer else (),
            max_msg_size=self._limits.max_message_bytes,
            autoping=True,
        )
        try:
            await socket.prepare(request)
        except (ConnectionError, web.HTTPException):
            # The client left during $connect: the row it wrote must not outlive it.
            await self._disconnect(api, peer, ABNORMAL, "")
            raise
        connection = LiveConnection(peer=peer, socket=socket, last_active=self._clock())
        self._registry.add(connection)
        client_code, client_reason = await self._serve(api, connection)
        self._registry.remove(peer.connection_id)
        if connection.close_code is not None:
            code, reason = connection.close_code, connection.close_reason
        else:
            code, reason = client_code, client_reason
        await self._disconnect(api, peer, code, reason)
        return socket

    async def enforce_limits(self) -> None:
        """Close idle and too-old connections, forever (run it as a task)."""
        interval = self._limits.check_interval
        while True:
            await asyncio.sleep(interval)
            now = self._clock()
            for connection in self._registry:
                idle = now - connection.last_active > self._limits.idle_timeout
                age = now - connection.peer.connected_at_ms / 1000
                if idle or age > self._limits.max_lifetime:
                    self._spawn(connection.close(*GOING_AWAY))

    async def close_all(self, timeout: float = 3.0) -> None:
        """Close every connection (1001) and wait, bounded, for their ``$disconnect``."""
        for connection in self._registry:
            self._spawn(connection.close(*GOING_AWAY))
        deadline = time.monotonic() + timeout
        while (len(self._registry) or self._tasks) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)

    async def _connect(self, api: ApiContext, peer: Peer, request: web.Request) -> web.Response | str | None:
        """The subprotocol to echo (or None) when ``$connect`` accepts; the refusal otherwise."""
        function = self._routes.get(CONNECT)
        if function is None:
            return None
        event = connect_event(
            api,
            peer,
            headers=list(request.headers.items()),
            query=list(request.query.items()),
            now_ms=int(self._clock() * 1000),
            request_id=new_request_id(),
        )
        try:
            response = await function.invoke_async(event, self._executor)
        except Exception:
            log.exception("$connect handler raised")
            return web.Response(status=500, text="Internal server error")
        status = response.get("statusCode") if isinstance(response, dict) else None
        if not isinstance(status, int):
            log.error("$connect handler answered no statusCode: %r", type(response).__name__)
            return web.Response(status=502, text="Internal server error")
        if status != 200:
            body = response.get("body")
            return web.Response(status=status, text=body if isinstance(body, str) else "")
        headers = response.get("headers") or {}
        chosen = next(
            (v for k, v in headers.items() if k.lower() == "sec-websocket-protocol" and isinstance(v, str)),
            None,
        )
        return chosen.strip() if chosen else None

    async def _serve(self, api: ApiContext, connection: LiveConnection) -> tuple[int, str]:
        """Read messages until the socket closes; the client's close code and reason."""
        socket = connection.socket
        while True:
            message = await socket.receive()
            if message.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                connection.touch(self._clock())
                await self._route(api, connection, message.data)
            elif message.type == WSMsgType.CLOSE:
                return int(message.data), str(message.extra or "")
            elif message.type == WSMsgType.ERROR:
                error = message.data
                if isinstance(error, WebSocketError) and error.code == MESSAGE_TOO_BIG[0]:
                    return MESSAGE_TOO_BIG
                return ABNORMAL, ""
            elif message.type in (WSMsgType.CLOSING, WSMsgType.CLOSED):
                return ABNORMAL, ""

    async def _route(self, api: ApiContext, connection: LiveConnection, body: str | bytes) -> None:
        route = select_route(body, self._routes)
        request_id = new_request_id()
        if route is None:
            forbidden = {
                "message": "Forbidden",
                "connectionId": connection.connection_id,
                "requestId": request_id,
            }
            await connection.socket.send_str(json.dumps(forbidden, separators=(",", ":")))
            return
        event = message_event(
            api,
            connection.peer,
            route_key=route,
            body=body,
            now_ms=int(self._clock() * 1000),
            request_id=request_id,
            message_id=new_request_id(),
        )
        self._spawn(self._invoke(self._routes[route], event))

    async def _disconnect(self, api: ApiContext, peer: Peer, code: int, reason: str) -> None:
        function = self._routes.get(DISCONNECT)
        if function is None:
            return
        if code == ABNORMAL and not self._disconnect_on_abort:
            log.info("connection %s lost without a close frame: no $disconnect", peer.connection_id)
            return
        event = disconnect_event(
            api,
            peer,
            status_code=code,
            reason=reason,
            now_ms=int(self._clock() * 1000),
            request_id=new_request_id(),
        )
        await self._invoke(function, event)

    async def _invoke(self, function: Function, event: dict[str, Any]) -> None:
        try:
            await function.invoke_async(event, self._executor)
        except Exception:
            log.exception("%s handler raised", event["requestContext"]["routeKey"])

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
