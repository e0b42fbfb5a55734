"""Load without loss on the real local stack (``hc-realtime dev`` in its own process, as it
runs by default: concurrent invocations, each in an execution environment of its own, several
dispatch batches in flight, the connections index lagging its table).

500 WebSocket connections (aiohttp, token as the second subprotocol, as a browser sends it)
across 100 users, 5 each; events put on the emulator's bus with ``emit_many`` (the real path:
bus, FIFO subscriber, queue, SQS event source, dispatchers, @connections, gateway), each user's events emitted
one after another. Then every connection must hold exactly its user's events: none missing,
none of another user, repeats counted (never hidden by dropping them), in the order emitted,
``seq`` strictly increasing. Nothing is mocked. Waits have deadlines; no assertion is about time.

Scale: 10,000 events to 5 connections each (50,000 frames), in ``make test``. The stack is
CPU-bound on 2 cores (the gateway and the emulator share the stack process; the dispatchers run
in their own): about 110 frames/s here, 7-8 minutes for the whole run (``HC_LOAD_EVENTS``
picks another size; deadlines scale).
Events go out in rounds of ``HC_LOAD_ROUND_EVENTS`` (20), each once the previous one has
arrived: moto's SQS walks the whole queue on every receive, delete and (for a FIFO target of
EventBridge) every send, so a 1,000-message backlog made the queue alone cost more CPU than the
dispatcher. Each phase's duration is printed (``pytest -s``) and is in every failure message.

The second test emits one user's events in bursts of 10 (one ``emit_many`` call each, in
order) to an idle stack: a burst split between two batches must still reach the sockets in
order. Before the dispatch queue was FIFO (with two SQS pollers, a standard queue) this race
failed in most runs (4 of 5 measured then).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import resource
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest

from healthcoach_realtime.emitter import DomainEvent, emit_many
from healthcoach_realtime.resources import DISPATCH_DLQ, DISPATCH_QUEUE, DISPATCH_VISIBILITY_TIMEOUT_SECONDS
from healthcoach_realtime.settings import DEFAULT_EVENT_BUS
from tests.support.local_stack import StackUrls, running_stack

SUBPROTOCOL = "healthcoach.v1"
USERS = 100
CONNECTIONS_PER_USER = 5
EVENTS = int(os.environ.get("HC_LOAD_EVENTS", "10000"))
ROUND_EVENTS = int(os.environ.get("HC_LOAD_ROUND_EVENTS", "20"))
BURST_EVENTS = 400
# One emit_many call (one PutEvents) per burst; idle pollers may split it between two batches.
BURST_SIZE = 10
CONNECT_CONCURRENCY = 50
# Sockets: 500 client ends here, 500 server ends and the emulator's in the stack, plus headroom.
NEEDED_FILES = 4096
# Deadlines, not expectations: under half of the ~110 frames/s measured still passes.
SLOWEST_FRAMES_PER_SECOND = 50.0
SETTLE_DEADLINE_SECONDS = 30.0
LOAD_TIMEOUT_SECONDS = 120 + EVENTS * CONNECTIONS_PER_USER / SLOWEST_FRAMES_PER_SECOND


@dataclass(frozen=True)
class Load:
    """How many users, sockets and events; ``interleaved`` emits round-robin over users (each
    batch mixes users), else each user's events back to back (a burst per user). The events are
    emitted in ``rounds`` equal parts (``emit_many``, in order), each once the previous one has
    been delivered."""

    users: int
    connections_per_user: int
    events_per_user: int
    interleaved: bool
    prefix: str
    rounds: int = 1

    @property
    def frames(self) -> int:
        return self.users * self.connections_per_user * self.events_per_user

    def events(self) -> list[DomainEvent]:
        users = [f"{self.prefix}-{n:03d}" for n in range(self.users)]
        numbers = range(self.events_per_user)
        pairs = (
            [(u, n) for n in numbers for u in users]
            if self.interleaved
            else [(u, n) for u in users for n in numbers]
        )
        return [
            DomainEvent(user, "foodLogCreated", {"id": f"{user}-{n}", "name": f"meal {n}", "calories": n})
            for user, n in pairs
        ]


def _raise_open_file_limit() -> None:
    """500 sockets each side: raise the soft limit (the stack subprocess inherits it) if it is low."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = NEEDED_FILES if hard == resource.RLIM_INFINITY else min(NEEDED_FILES, hard)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


@pytest.fixture(scope="module")
def load_stack() -> Iterator[StackUrls]:
    """A stack of its own: 10,000 events and their history must not slow other tiers' stacks.

    SQS's visibility timeout as deployed (180 s, not the dev default of 5 s): a saturated laptop
    must not make a slow batch look lost and redeliver it."""
    _raise_open_file_limit()
    with running_stack("--visibility-timeout", str(DISPATCH_VISIBILITY_TIMEOUT_SECONDS)) as stack:
        yield stack


@dataclass
class Client:
    """One WebSocket of one user and every event frame it received, in arrival order."""

    user: str
    ws: aiohttp.ClientWebSocketResponse
    frames: list[dict[str, Any]] = field(default_factory=list)
    ended: str = ""


async def _token(session: aiohttp.ClientSession, stack: StackUrls, user: str) -> str:
    query = urllib.parse.urlencode({"user": user})
    async with session.get(f"{stack.base_url}/local/issuer/token?{query}") as response:
        response.raise_for_status()
        token: str = (await response.json())["token"]
    return token


async def _read(client: Client) -> None:
    """Collect event frames until the socket closes (presence frames are ignored)."""
    async for message in client.ws:
        if message.type is aiohttp.WSMsgType.TEXT:
            frame: dict[str, Any] = json.loads(message.data)
            if frame.get("type") != "presence":
                client.frames.append(frame)
        elif message.type is aiohttp.WSMsgType.ERROR:
            client.ended = f"error: {client.ws.exception()!r}"
    if not client.ended:
        client.ended = f"closed by the server: {client.ws.close_code}"


def _queue_drained(stack: StackUrls) -> bool:
    """Nothing left to deliver or redeliver on the dispatch queue."""
    sqs = stack.client("sqs")
    url = sqs.get_queue_url(QueueName=DISPATCH_QUEUE)["QueueUrl"]
    attributes = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return all(int(value) == 0 for value in attributes.values())


def _dead_lettered(stack: StackUrls) -> int:
    sqs = stack.client("sqs")
    url = sqs.get_queue_url(QueueName=DISPATCH_DLQ)["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def _problems(clients: list[Client], expected: dict[str, list[str]]) -> dict[str, int | list[str]]:
    """Loss, foreign events, repeats, order and seq breaks, counted over every connection.

    A repeat (at least once delivery) counts as a duplicate only: order and seq are checked over
    each id's first arrival, and a repeat must carry the seq its first arrival had.
    """
    owner = {event_id: user for user, ids in expected.items() for event_id in ids}
    missing = foreign = duplicates = out_of_order = seq_breaks = 0
    examples: list[str] = []
    for number, client in enumerate(clients):
        ids = [str(frame.get("id")) for frame in client.frames]
        wanted = expected[client.user]
        lost = set(wanted) - set(ids)
        strangers = [i for i in ids if owner.get(i) != client.user]
        repeats = sum(count - 1 for count in Counter(ids).values())
        first_seen = list(dict.fromkeys(i for i in ids if owner.get(i) == client.user))
        order_ok = first_seen == [i for i in wanted if i in set(first_seen)]
        # Repeats are counted above; seq must rise over first arrivals and stay the same on a repeat.
        seq_of: dict[str, set[Any]] = {}
        for frame in client.frames:
            seq_of.setdefault(str(frame.get("id")), set()).add(frame.get("seq"))
        firsts = [next(iter(seq_of[i])) for i in dict.fromkeys(ids)]
        seq_ok = all(len(found) == 1 for found in seq_of.values()) and all(
            isinstance(later, int) and isinstance(earlier, int) and later > earlier
            for earlier, later in itertools.pairwise(firsts)
        )
        missing += len(lost)
        foreign += len(strangers)
        duplicates += repeats
        out_of_order += not order_ok
        seq_breaks += not seq_ok
        if (lost or strangers or repeats or not order_ok or not seq_ok) and len(examples) < 5:
            examples.append(
                f"connection {number} of {client.user}: {len(ids)} frames, {len(lost)} missing, "
                f"{len(strangers)} foreign, {repeats} repeats, order ok {order_ok}, seq ok {seq_ok}, "
                f"ended {client.ended!r}; emitted positions as received {_runs(ids, wanted)}"
            )
    return {
        "missing": missing,
        "foreign": foreign,
        "duplicates": duplicates,
        "connections out of order": out_of_order,
        "connections with seq not increasing or changed": seq_breaks,
        "examples": examples,
    }


def _runs(received: list[str], emitted: list[str]) -> str:
    """Where each received id was in the emitted order, as runs: "0-9, 20-29, 10-19"."""
    position = {event_id: n for n, event_id in enumerate(emitted)}
    indexes = [position.get(event_id, -1) for event_id in received]
    runs: list[list[int]] = []
    for index in indexes:
        if runs and index == runs[-1][-1] + 1:
            runs[-1].append(index)
        else:
            runs.append([index])
    text = ", ".join(f"{r[0]}-{r[-1]}" if len(r) > 1 else str(r[0]) for r in runs)
    return text if len(text) < 300 else text[:300] + "..."


async def _scenario(
    stack: StackUrls, load: Load, progress: Callable[[str], None]
) -> tuple[list[Client], dict[str, list[str]], dict[str, float]]:
    """Connect, emit, wait for delivery and a drained queue; the clients, expected ids, timings."""
    timings: dict[str, float] = {}
    events = load.events()
    users = list(dict.fromkeys(e.user_id for e in events))
    # limit=0: a WebSocket holds its connection for good; the default pool of 100 would stall.
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.monotonic()
        fetched = await asyncio.gather(*(_token(session, stack, u) for u in users))
        tokens = dict(zip(users, fetched, strict=True))
        gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

        async def connect(user: str) -> Client:
            async with gate:
                ws = await session.ws_connect(stack.ws_url, protocols=(SUBPROTOCOL, tokens[user]))
            return Client(user, ws)

        clients = list(
            await asyncio.gather(*(connect(u) for _ in range(load.connections_per_user) for u in users))
        )
        readers = [asyncio.create_task(_read(c)) for c in clients]
        timings["connect"] = time.monotonic() - started
        progress(f"{len(clients)} sockets open ({timings['connect']:.0f} s)")

        started = time.monotonic()
        bus = stack.client("eventbridgev2")
        expected: dict[str, list[str]] = {u: [] for u in users}
        size = -(-len(events) // load.rounds)
        for first in range(0, len(events), size):
            chunk = events[first : first + size]
            emitting = time.monotonic()
            ids = await asyncio.to_thread(emit_many, chunk, client=bus, bus_name=DEFAULT_EVENT_BUS)
            timings["emit"] = timings.get("emit", 0.0) + time.monotonic() - emitting
            for event, event_id in zip(chunk, ids, strict=True):
                expected[event.user_id].append(event_id)
            round_frames = len(chunk) * load.connections_per_user
            deadline = time.monotonic() + 30 + round_frames / SLOWEST_FRAMES_PER_SECOND
            while time.monotonic() < deadline and any(len(c.frames) < len(expected[c.user]) for c in clients):
                await asyncio.sleep(0.01)
            done = first + len(chunk)
            if done * 10 // len(events) > first * 10 // len(events):  # each tenth
                progress(f"{done:,}/{len(events):,} events delivered ({time.monotonic() - started:.0f} s)")
        timings["deliver"] = time.monotonic() - started
        # Every message deleted: no redelivery (a repeat) can still be on its way.
        deadline = time.monotonic() + SETTLE_DEADLINE_SECONDS
        while not await asyncio.to_thread(_queue_drained, stack) and time.monotonic() < deadline:
            await asyncio.sleep(0.25)
        await asyncio.sleep(0.5)
        timings["settle"] = time.monotonic() - started

        await asyncio.gather(*(c.ws.close() for c in clients))
        await asyncio.gather(*readers)
    return clients, expected, timings


def _run(
    stack: StackUrls, load: Load, progress: Callable[[str], None] = lambda _: None
) -> tuple[dict[str, int | list[str]], str]:
    """Run a load; its problems (counts and examples) and a summary with the phases' durations."""
    dead_before = _dead_lettered(stack)
    started = time.monotonic()
    clients, expected, timings = asyncio.run(_scenario(stack, load, progress))
    timings["total"] = time.monotonic() - started
    received = sum(len(c.frames) for c in clients)
    dead = _dead_lettered(stack) - dead_before
    summary = (
        f"{len(clients)} connections of {load.users} users, {received} event frames "
        f"(want {load.frames}), {dead} dead-lettered; seconds: "
        + ", ".join(f"{name} {value:.1f}" for name, value in timings.items())
    )
    print(summary)  # the measured phases, shown with pytest -s or -rP
    problems = _problems(clients, expected)
    problems["connections"] = len(clients)
    problems["dead-lettered"] = dead
    return problems, summary


NO_PROBLEMS = {
    "missing": 0,
    "foreign": 0,
    "duplicates": 0,
    "connections out of order": 0,
    "connections with seq not increasing or changed": 0,
    "dead-lettered": 0,
}


@pytest.mark.timeout(LOAD_TIMEOUT_SECONDS)
def test_every_connection_gets_exactly_its_users_events_in_order(
    load_stack: StackUrls, progress: Callable[[str], None]
) -> None:
    """500 connections of 100 users, events interleaved: none lost, foreign, repeated or out of order."""
    load = Load(
        USERS,
        CONNECTIONS_PER_USER,
        EVENTS // USERS,
        interleaved=True,
        prefix="load",
        rounds=max(1, EVENTS // ROUND_EVENTS),
    )
    problems, summary = _run(load_stack, load, progress)
    assert problems["connections"] == USERS * CONNECTIONS_PER_USER, summary
    counts = {k: v for k, v in problems.items() if k in NO_PROBLEMS}
    assert counts == NO_PROBLEMS, f"{summary}; {problems}"


@pytest.fixture
def idle_stack() -> Iterator[StackUrls]:
    """A stack of its own whose pollers are idle, as when a user's burst comes in a quiet moment."""
    with running_stack("--visibility-timeout", str(DISPATCH_VISIBILITY_TIMEOUT_SECONDS)) as stack:
        yield stack


@pytest.mark.timeout(120)
def test_one_users_burst_arrives_in_the_order_emitted(idle_stack: StackUrls) -> None:
    """Bursts of 10 events of one user (emit_many, in order) reach both its sockets in that order."""
    load = Load(1, 2, BURST_EVENTS, interleaved=False, prefix="burst", rounds=BURST_EVENTS // BURST_SIZE)
    problems, summary = _run(idle_stack, load)
    counts = {k: v for k, v in problems.items() if k in NO_PROBLEMS}
    assert counts == NO_PROBLEMS, f"{summary}; {problems}"
