"""What the demo page and the CLI talk to: the page itself, its config, and an emit endpoint.

- ``GET /`` (the page), ``GET /static/<file>``, ``GET /clients/realtime.js`` (the reference client).
- ``GET /local/config``: ``{"wsUrl", "busArn", "eventTypes", "samples"}`` (``busArn``: the bus the
  stack's events go to, for producers and the smoke test).
- ``POST /local/emit`` ``{"type", "userId", "data"}``: the real ``emit()``, so the event takes the
  whole path (bus, rule, queue, dispatcher); 200 ``{"id"}`` or 400 ``{"error", "field", "rule"}``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

from aiohttp import web

from healthcoach_realtime.catalogue import EVENT_TYPES
from healthcoach_realtime.exceptions import EmitError, InvalidEventError
from healthcoach_realtime.local.samples import SAMPLES

__all__ = ["STATIC_DIR", "DevApi", "find_client_script"]

STATIC_DIR = Path(__file__).resolve().parent / "static"
_PACKAGE_DIR = Path(__file__).resolve().parents[1]

# emit(user_id, event_type, data) -> event id; the real one is healthcoach_realtime.emitter.emit.
Emit = Callable[[str, str, Mapping[str, Any]], str]


def find_client_script() -> Path | None:
    """``clients/web/realtime.js`` of the repository, or a copy installed next to the package."""
    candidates = (
        _PACKAGE_DIR.parents[1] / "clients" / "web" / "realtime.js",
        _PACKAGE_DIR / "clients" / "web" / "realtime.js",
        _PACKAGE_DIR / "clients" / "realtime.js",
    )
    return next((path for path in candidates if path.is_file()), None)


class DevApi:
    """Routes for the demo page; ``emit`` runs in ``executor`` (it makes a blocking boto3 call)."""

    def __init__(
        self, *, ws_url: str, emit: Emit, bus_arn: str = "", executor: Executor | None = None
    ) -> None:
        self._ws_url = ws_url
        self._bus_arn = bus_arn
        self._emit = emit
        self._executor = executor

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/", self.index)
        app.router.add_get("/clients/realtime.js", self.client_script)
        app.router.add_static("/static", STATIC_DIR, follow_symlinks=False)
        app.router.add_get("/local/config", self.config)
        app.router.add_post("/local/emit", self.emit)
        app.on_response_prepare.append(_no_cache)

    async def index(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC_DIR / "index.html")

    async def client_script(self, request: web.Request) -> web.StreamResponse:
        script = find_client_script()
        if script is None:
            raise web.HTTPNotFound(text="clients/web/realtime.js not found")
        return web.FileResponse(script, headers={"Content-Type": "text/javascript; charset=utf-8"})

    async def config(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "wsUrl": self._ws_url,
                "busArn": self._bus_arn,
                "eventTypes": list(EVENT_TYPES),
                "samples": dict(SAMPLES),
            }
        )

    async def emit(self, request: web.Request) -> web.Response:
        try:
            body = json.loads(await request.read())
        except ValueError:
            return _bad_request('the body must be JSON: {"type", "userId", "data"}')
        if not isinstance(body, dict):
            return _bad_request('the body must be a JSON object: {"type", "userId", "data"}')
        event_type, user_id, data = body.get("type"), body.get("userId"), body.get("data")
        if not isinstance(event_type, str):
            return _bad_request("type must be one of the event types", field="type", rule="enum")
        try:
            event_id = await _run(self._executor, self._emit, user_id, event_type, data)
        except InvalidEventError as exc:
            return _bad_request(str(exc), field=exc.field, rule=exc.rule)
        except EmitError as exc:
            return web.json_response({"error": str(exc), "failed": exc.failed}, status=502)
        return web.json_response({"id": event_id})


async def _run(executor: Executor | None, function: Emit, user_id: Any, event_type: str, data: Any) -> str:
    return await asyncio.get_running_loop().run_in_executor(executor, function, user_id, event_type, data)


def _bad_request(message: str, *, field: str | None = None, rule: str | None = None) -> web.Response:
    return web.json_response({"error": message, "field": field, "rule": rule}, status=400)


async def _no_cache(request: web.Request, response: web.StreamResponse) -> None:
    """Edits to the page show on reload: the browser revalidates every time."""
    path = request.path
    if path == "/" or path.startswith(("/static/", "/clients/")):
        response.headers["Cache-Control"] = "no-cache"
