"""The local stack runs invocations concurrently, as Lambda does: one user's long invocation never
holds up another user's events. Over real sockets on ``hc-realtime dev``; nothing is mocked.

If invocations ran one at a time again (a process-wide lock, a single worker), the other user's
event would wait for the long invocation to end and arrive after its answer: this test fails then.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import aiohttp
from tests.support.local_stack import StackUrls
from tests.support.stack_client import connect, emit_food_log_deleted, new_user, next_frame, run

from healthcoach_realtime.history.store import SETTLE_SECONDS, HistoryStore
from healthcoach_realtime.settings import DEFAULT_HISTORY_TABLE


def test_a_long_resume_does_not_hold_up_another_users_event(local_stack: StackUrls) -> None:
    """User A's resume waits (``SETTLE_SECONDS``, 2 s) for a seq handed out but never kept, then
    answers ``resync``; meanwhile an event for user B is dispatched and reaches B's socket before
    A's answer."""
    slow, other = new_user("settling"), new_user("waiting")
    # A seq handed out whose event is never kept: what a dispatcher that died mid-batch leaves.
    HistoryStore(local_stack.client("dynamodb"), DEFAULT_HISTORY_TABLE).reserve(slow, 1)

    async def scenario(session: aiohttp.ClientSession) -> tuple[list[str], float]:
        waiting = await connect(session, local_stack, other)
        settling = await connect(session, local_stack, slow)
        order: list[str] = []

        async def read(ws: aiohttp.ClientWebSocketResponse, name: str) -> None:
            frame: dict[str, Any] = await next_frame(ws, timeout=30)
            order.append(f"{name}: {frame.get('type')}")

        asked = time.monotonic()
        await settling.send_str(json.dumps({"action": "resume", "since": 0}))
        answer = asyncio.create_task(read(settling, "A"))
        await asyncio.sleep(0.2)  # A's $default invocation is waiting by now
        event = asyncio.create_task(read(waiting, "B"))
        await asyncio.to_thread(emit_food_log_deleted, local_stack, other, "f1")
        await asyncio.gather(answer, event)
        waited = time.monotonic() - asked
        for ws in (waiting, settling):
            await ws.close()
        return order, waited

    order, waited = run(scenario, timeout=60)
    assert order == ["B: foodLogDeleted", "A: resync"], f"A's resume took {waited:.2f} s"
    assert waited >= SETTLE_SECONDS, "A's resume did not wait: the test proves nothing"
