"""Never miss an event, on the local stack over real sockets: seq on every frame, resume after a
disconnect, resync beyond the history, ping/pong. Nothing is mocked; waits are bounded."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
from tests.support.local_stack import StackUrls
from tests.support.stack_client import connect, emit_food_log_deleted, new_user, next_frame, run

from healthcoach_realtime.settings import DEFAULT_HISTORY_TABLE


def test_resume_after_disconnect_gets_exactly_the_missed_events_in_order(local_stack: StackUrls) -> None:
    """Phone saw e1, slept through e2 and e3 (the laptop saw them), resumes: e2, e3, then live e4."""
    user = new_user("resume")

    async def scenario(
        session: aiohttp.ClientSession,
    ) -> tuple[list[str], list[dict[str, Any]], dict[str, Any]]:
        phone, laptop = await connect(session, local_stack, user), await connect(session, local_stack, user)
        ids = [await asyncio.to_thread(emit_food_log_deleted, local_stack, user, "f1")]
        first = await next_frame(phone)
        await next_frame(laptop)
        await phone.close()
        for item in ("f2", "f3"):
            ids.append(await asyncio.to_thread(emit_food_log_deleted, local_stack, user, item))
            await next_frame(laptop)  # dispatched, so in the history
        phone = await connect(session, local_stack, user)
        await phone.send_str(json.dumps({"action": "resume", "since": first["seq"]}))
        replayed = [await next_frame(phone), await next_frame(phone)]
        assert await next_frame(phone) == {"type": "resumed", "through": replayed[-1]["seq"]}
        ids.append(await asyncio.to_thread(emit_food_log_deleted, local_stack, user, "f4"))
        live = await next_frame(phone)
        for ws in (phone, laptop):
            await ws.close()
        return ids, [first, *replayed], live

    ids, frames, live = run(scenario)
    assert [f["id"] for f in frames] == ids[:3]
    assert [f["seq"] for f in frames] == [1, 2, 3]
    assert (live["id"], live["seq"]) == (ids[3], 4)


def test_resume_beyond_history_yields_one_resync(local_stack: StackUrls) -> None:
    """With seq 1 expired (deleted as TTL would), a client at 0 gets {"type": "resync", "latestSeq": 2}."""
    user = new_user("resume")
    dynamodb = local_stack.client("dynamodb")

    async def scenario(session: aiohttp.ClientSession) -> dict[str, Any]:
        ws = await connect(session, local_stack, user)
        received = []
        for item in ("f1", "f2"):
            await asyncio.to_thread(emit_food_log_deleted, local_stack, user, item)
            received.append(await next_frame(ws))
        first = next(f for f in received if f["seq"] == 1)
        key = {"userId": {"S": user}, "sk": {"S": f"event#{first['id']}"}}  # as TTL would
        await asyncio.to_thread(dynamodb.delete_item, TableName=DEFAULT_HISTORY_TABLE, Key=key)
        await ws.send_str(json.dumps({"action": "resume", "since": 0}))
        frame = await next_frame(ws)
        await ws.send_str(json.dumps({"action": "ping"}))
        after = await next_frame(ws)  # nothing was replayed between the resync and the pong
        await ws.close()
        return {"resync": frame, "after": after["type"]}

    assert run(scenario) == {"resync": {"type": "resync", "latestSeq": 2}, "after": "pong"}


def test_ping_is_answered_with_pong(local_stack: StackUrls) -> None:
    """{"action": "ping"} -> {"type": "pong", "time": ...} on the same connection."""

    async def scenario(session: aiohttp.ClientSession) -> dict[str, Any]:
        ws = await connect(session, local_stack, new_user("resume"))
        await ws.send_str(json.dumps({"action": "ping"}))
        frame = await next_frame(ws)
        await ws.close()
        return frame

    frame = run(scenario)
    assert (frame["type"], frame["time"].endswith("Z")) == ("pong", True)


def test_presence_counts_follow_a_users_devices(local_stack: StackUrls) -> None:
    """Laptop open; phone connects and asks (phone: 2, laptop told 2); phone leaves (laptop told 1).
    The asks and the departure come at once, before the lagging index shows either change."""
    user = new_user("resume")

    async def scenario(session: aiohttp.ClientSession) -> list[int]:
        laptop = await connect(session, local_stack, user)
        phone = await connect(session, local_stack, user)
        await phone.send_str(json.dumps({"action": "presence"}))
        counts = [(await next_frame(phone, presence=True))["connections"]]
        counts.append((await next_frame(laptop, presence=True))["connections"])
        await phone.close()
        counts.append((await next_frame(laptop, presence=True))["connections"])
        await laptop.close()
        return counts

    assert run(scenario) == [2, 2, 1]
