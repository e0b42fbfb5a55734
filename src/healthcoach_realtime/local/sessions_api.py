"""The dev stack's sign-out endpoint, for ``hc-realtime disconnect --user ID`` and the demo page.

``POST /local/disconnect`` ``{"userId": ID}`` runs the library's own ``disconnect_user`` (the same
call an app's sign-out path makes) and answers ``{"userId", "closed"}``; 400 without a user id.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from concurrent.futures import Executor

from aiohttp import web

__all__ = ["SessionsApi"]

MAX_USER_ID_LENGTH = 128  # the schemas' limit on ``userId``

# user id -> how many connections were closed; the real one is sessions.disconnect_user.
Disconnect = Callable[[str], int]


class SessionsApi:
    """``disconnect`` runs in ``executor`` (it makes blocking boto3 calls)."""

    def __init__(self, *, disconnect: Disconnect, executor: Executor | None = None) -> None:
        self._disconnect = disconnect
        self._executor = executor

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/local/disconnect", self.disconnect)

    async def disconnect(self, request: web.Request) -> web.Response:
        try:
            body = json.loads(await request.read())
        except ValueError:
            body = None
        user = body.get("userId") if isinstance(body, dict) else None
        if not isinstance(user, str) or not user.strip() or len(user) > MAX_USER_ID_LENGTH:
            return web.json_response(
                {"error": f'the body must be {{"userId": <1 to {MAX_USER_ID_LENGTH} characters>}}'},
                status=400,
            )
        loop = asyncio.get_running_loop()
        closed = await loop.run_in_executor(self._executor, self._disconnect, user)
        return web.json_response({"userId": user, "closed": closed})
