"""A test's client of a running local stack: tokens, emits, sockets, frames and the CLI.

The integration tests drive ``hc-realtime dev`` the way an app and a browser would: a token from
the dev issuer, an event through ``/local/emit``, a WebSocket with the token as its second
subprotocol, and ``hc-realtime`` subcommands against the stack's port.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import urllib.parse
import urllib.request
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import aiohttp

from tests.support.local_stack import StackUrls

__all__ = [
    "SUBPROTOCOL",
    "WAIT_SECONDS",
    "cli",
    "connect",
    "connect_with",
    "emit",
    "emit_food_log_deleted",
    "issue_token",
    "listen",
    "new_user",
    "next_frame",
    "run",
    "token_for",
]

SUBPROTOCOL = "healthcoach.v1"
WAIT_SECONDS = 10.0
T = TypeVar("T")


def run(scenario: Callable[[aiohttp.ClientSession], Awaitable[T]], timeout: float = 45.0) -> T:
    """Run an async scenario with one client session, bounded in time."""

    async def main() -> T:
        async with aiohttp.ClientSession() as session:
            return await asyncio.wait_for(scenario(session), timeout=timeout)

    return asyncio.run(main())


def new_user(prefix: str = "user") -> str:
    """A user id no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def issue_token(stack: StackUrls, user: str, expires_in: int | None = None) -> tuple[str, int]:
    """A dev token for ``user`` and its exp (epoch seconds); the issuer's lifetime unless given."""
    params: dict[str, str | int] = {"user": user}
    if expires_in is not None:
        params["expiresIn"] = expires_in
    query = urllib.parse.urlencode(params)
    with urllib.request.urlopen(f"{stack.base_url}/local/issuer/token?{query}", timeout=5) as response:
        answer = json.loads(response.read())
    return str(answer["token"]), int(answer["exp"])


def token_for(stack: StackUrls, user: str) -> str:
    """A dev token for ``user`` with the issuer's default lifetime."""
    return issue_token(stack, user)[0]


def emit(stack: StackUrls, user: str, event_type: str, data: dict[str, Any]) -> str:
    """Emit one event through the stack's ``/local/emit``; its id."""
    body = json.dumps({"type": event_type, "userId": user, "data": data}).encode()
    request = urllib.request.Request(
        f"{stack.base_url}/local/emit", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        event_id: str = json.loads(response.read())["id"]
    return event_id


def emit_food_log_deleted(stack: StackUrls, user: str, item: str) -> str:
    """Emit a ``foodLogDeleted`` of ``item``: the smallest valid event, for tests of delivery."""
    return emit(stack, user, "foodLogDeleted", {"id": item})


async def connect_with(
    session: aiohttp.ClientSession, stack: StackUrls, token: str
) -> aiohttp.ClientWebSocketResponse:
    """A browser-style connection: the token as the second subprotocol."""
    return await session.ws_connect(stack.ws_url, protocols=(SUBPROTOCOL, token), autoping=True)


async def connect(
    session: aiohttp.ClientSession, stack: StackUrls, user: str
) -> aiohttp.ClientWebSocketResponse:
    """A browser-style connection of ``user`` with a fresh token."""
    return await connect_with(session, stack, await asyncio.to_thread(token_for, stack, user))


async def next_frame(
    ws: aiohttp.ClientWebSocketResponse, *, presence: bool = False, timeout: float = WAIT_SECONDS
) -> dict[str, Any]:
    """The next text frame as JSON; presence frames (a sibling connected or left) are skipped
    unless asked for. Fails on a close or after ``timeout``."""
    while True:
        message = await ws.receive(timeout=timeout)
        got = f"{message.type!r} {message.data!r}"
        assert message.type == aiohttp.WSMsgType.TEXT, f"expected a frame, got {got}"
        frame: dict[str, Any] = json.loads(message.data)
        if presence or frame.get("type") != "presence":
            return frame


def cli(stack: StackUrls, *args: str) -> subprocess.CompletedProcess[str]:
    """``hc-realtime <args> --port <the stack's>``, run to its end."""
    return subprocess.run(
        [sys.executable, "-m", "healthcoach_realtime.cli", *args, "--port", str(stack.port)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def listen(stack: StackUrls, user: str) -> subprocess.Popen[str]:
    """``hc-realtime listen --user <user>`` started in the background (the caller ends it)."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "healthcoach_realtime.cli",
            "listen",
            "--user",
            user,
            "--port",
            str(stack.port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
