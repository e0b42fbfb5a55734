"""Never miss an event, on the local stack over real sockets: seq on every frame, resume after a
disconnect, resync beyond the history, ping/pong. Nothing is mocked; waits are bounded."""

from __future__ import annotations

import asyncio
import json
import urllib.parse
import urllib.request
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import aiohttp
from tests.support.local_stack import StackUrls

from healthcoach_realtime.settings import DEFAULT_HISTORY_TABLE

WAIT_SECONDS = 10.0
SUBPROTOCOL = "healthcoach.v1"
T = TypeVar("T")


def _run(scenario: Callable[[aiohttp.ClientSession], Awaitable[T]]) -> T:
    async def main() -> T:
        async with aiohttp.ClientSession() as session:
            return await asyncio.wait_for(scenario(session), timeout=45)

    return asyncio.run(main())


def _user() -> str:
    return f"resume-{uuid.uuid4().hex[:10]}"


def _emit(stack: StackUrls, user: str, item: str) -> str:
    body = json.dumps({"type": "foodLogDeleted", "userId": user, "data": {"id": item}}).encode()
    request = urllib.request.Request(
        f"{stack.base_url}/local/emit", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        event_id: str = json.loads(response.read())["id"]
    return event_id


async def _connect(
    session: aiohttp.ClientSession, stack: StackUrls, user: str
) -> aiohttp.ClientWebSocketResponse:
    query = urllib.parse.urlencode({"user": user})
    url = f"{stack.base_url}/local/issuer/token?{query}"

    def token() -> str:
        with urllib.request.urlopen(url, timeout=5) as response:
            value: str = json.loads(response.read())["token"]
        return value

    return await session.ws_connect(stack.ws_url, protocols=(SUBPROTOCOL, await asyncio.to_thread(token)))


async def _next_frame(ws: aiohttp.ClientWebSocketResponse, *, presence: bool = False) -> dict[str, Any]:
    """The next frame; presence frames (siblings connecting, leaving) are skipped unless asked for."""
    while True:
        message = await ws.receive(timeout=WAIT_SECONDS)
        got = f"{message.type!r} {message.data!r}"
        assert message.type == aiohttp.WSMsgType.TEXT, f"expected a frame, got {got}"
        frame: dict[str, Any] = json.loads(message.data)
        if presence or frame.get("type") != "presence":
            return frame


def test_resume_after_disconnect_gets_exactly_the_missed_events_in_order(local_stack: StackUrls) -> None:
    """Phone saw e1, slept through e2 and e3 (the laptop saw them), resumes: e2, e3, then live e4."""
    user = _user()

    async def scenario(
        session: aiohttp.ClientSession,
    ) -> tuple[list[str], list[dict[str, Any]], dict[str, Any]]:
        phone, laptop = await _connect(session, local_stack, user), await _connect(session, local_stack, user)
        ids = [await asyncio.to_thread(_emit, local_stack, user, "f1")]
        first = await _next_frame(phone)
        await _next_frame(laptop)
        await phone.close()
        for item in ("f2", "f3"):
            ids.append(await asyncio.to_thread(_emit, local_stack, user, item))
            await _next_frame(laptop)  # dispatched, so in the history
        phone = await _connect(session, local_stack, user)
        await phone.send_str(json.dumps({"action": "resume", "since": first["seq"]}))
        replayed = [await _next_frame(phone), await _next_frame(phone)]
        assert await _next_frame(phone) == {"type": "resumed", "through": replayed[-1]["seq"]}
        ids.append(await asyncio.to_thread(_emit, local_stack, user, "f4"))
        live = await _next_frame(phone)
        for ws in (phone, laptop):
            await ws.close()
        return ids, [first, *replayed], live

    ids, frames, live = _run(scenario)
    assert [f["id"] for f in frames] == ids[:3]
    assert [f["seq"] for f in frames] == [1, 2, 3]
    assert (live["id"], live["seq"]) == (ids[3], 4)


def test_resume_beyond_history_yields_one_resync(local_stack: StackUrls) -> None:
    """With seq 1 expired (deleted as TTL would), a client at 0 gets {"type": "resync", "latestSeq": 2}."""
    user = _user()
    dynamodb = local_stack.client("dynamodb")

    async def scenario(session: aiohttp.ClientSession) -> dict[str, Any]:
        ws = await _connect(session, local_stack, user)
        received = []
        for item in ("f1", "f2"):
            await asyncio.to_thread(_emit, local_stack, user, item)
            received.append(await _next_frame(ws))
        first = next(f for f in received if f["seq"] == 1)
        key = {"userId": {"S": user}, "sk": {"S": f"event#{first['id']}"}}  # as TTL would
        await asyncio.to_thread(dynamodb.delete_item, TableName=DEFAULT_HISTORY_TABLE, Key=key)
        await ws.send_str(json.dumps({"action": "resume", "since": 0}))
        frame = await _next_frame(ws)
        await ws.send_str(json.dumps({"action": "ping"}))
        after = await _next_frame(ws)  # nothing was replayed between the resync and the pong
        await ws.close()
        return {"resync": frame, "after": after["type"]}

    assert _run(scenario) == {"resync": {"type": "resync", "latestSeq": 2}, "after": "pong"}


def test_ping_is_answered_with_pong(local_stack: StackUrls) -> None:
    """{"action": "ping"} -> {"type": "pong", "time": ...} on the same connection."""

    async def scenario(session: aiohttp.ClientSession) -> dict[str, Any]:
        ws = await _connect(session, local_stack, _user())
        await ws.send_str(json.dumps({"action": "ping"}))
        frame = await _next_frame(ws)
        await ws.close()
        return frame

    frame = _run(scenario)
    assert (frame["type"], frame["time"].endswith("Z")) == ("pong", True)


def test_presence_counts_follow_a_users_devices(local_stack: StackUrls) -> None:
    """Laptop open; phone connects (laptop told 2, phone asks: 2); phone leaves (laptop told 1)."""
    user = _user()

    async def scenario(session: aiohttp.ClientSession) -> list[int]:
        laptop = await _connect(session, local_stack, user)
        phone = await _connect(session, local_stack, user)
        counts = [(await _next_frame(laptop, presence=True))["connections"]]
        await phone.send_str(json.dumps({"action": "presence"}))
        counts.append((await _next_frame(phone, presence=True))["connections"])
        await phone.close()
        counts.append((await _next_frame(laptop, presence=True))["connections"])
        await laptop.close()
        return counts

    assert _run(scenario) == [2, 2, 1]
