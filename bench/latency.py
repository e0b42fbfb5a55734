"""Emit -> frame latency through the local stack with many open connections (a measurement, not a test).

What is timed: business code's ``emit()`` (PutEvents to the emulator's Custom Event Bus) until
the user's WebSocket has the frame: FIFO subscriber -> SQS -> long poll -> dispatcher (seq reservation,
keep and lookup, PostToConnection) -> gateway -> socket. One event at a time, a different user each time::

    .venv/bin/python -m bench.latency                       # starts hc-realtime dev itself
    .venv/bin/python -m bench.latency --port 3001           # uses a running stack
    .venv/bin/python -m bench.latency --connections 100 --events 500 --json

``make bench`` calls ``measure_points`` (one stack, 1, 100 and 1,000 connections); its numbers
are in ``results.md``. Each handler runs in an execution environment of its own and reaches the
AWS emulator over loopback HTTP on kept-open connections, so most of an event's time here is the
dispatcher's three sequential DynamoDB calls and its post, each a loopback round trip.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import aiohttp

__all__ = ["POINTS", "measure_points"]

WARMUP_EVENTS = 20
PAUSE_SECONDS = 0.01
# (connections, users, events) per point; 1,000 connections take ~20 s to open, so fewer events.
POINTS = ((1, 1, 200), (100, 50, 300), (1000, 500, 150))


def measure_points(
    points: Sequence[tuple[int, int, int]], progress: Callable[[str], None]
) -> list[dict[str, Any]]:
    """Each ``(connections, users, events)`` point in turn on one fresh ``hc-realtime dev``."""
    results = []
    with _stack(None) as port:
        for connections, users, events in points:
            result = asyncio.run(_measure(port, connections, users, events))
            progress(
                f"latency, {connections} connection(s): median {result['median_ms']:.1f} ms, "
                f"p99 {result['p99_ms']:.1f} ms ({events} events)"
            )
            results.append(result)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, help="a running hc-realtime dev (default: start one)")
    parser.add_argument("--connections", type=int, default=100, help="open WebSockets (default 100)")
    parser.add_argument("--users", type=int, default=50, help="users they belong to (default 50)")
    parser.add_argument("--events", type=int, default=300, help="measured events (default 300)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args()
    if not 1 <= args.users <= args.connections:
        parser.error("--users must be between 1 and --connections: every user needs an open connection")
    with _stack(args.port) as port:
        result = asyncio.run(_measure(port, args.connections, args.users, args.events))
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"emit -> frame, {result['connections']} open connections of {result['users']} users, "
            f"{result['events']} events: median {result['median_ms']:.1f} ms, p90 {result['p90_ms']:.1f} ms, "
            f"p99 {result['p99_ms']:.1f} ms, max {result['max_ms']:.1f} ms"
        )
    return 0


async def _measure(port: int, connections: int, users: int, events: int) -> dict[str, Any]:
    os.environ.update(
        AWS_ENDPOINT_URL=f"http://127.0.0.1:{port + 1}",
        AWS_ACCESS_KEY_ID="local",
        AWS_SECRET_ACCESS_KEY="local",  # noqa: S106 (the emulator accepts any)
        AWS_REGION="us-east-1",
        AWS_DEFAULT_REGION="us-east-1",
    )
    from healthcoach_realtime.emitter import emit
    from healthcoach_realtime.local.samples import sample_data

    arrivals: dict[str, float] = {}
    arrived = asyncio.Event()
    user_ids = [f"bench-{connections}-{n}-{os.getpid()}" for n in range(users)]
    # No pool limit: every open WebSocket holds one connection (aiohttp's default caps them at 100).
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        sockets = []
        for n in range(connections):
            issuer = f"http://127.0.0.1:{port}/local/issuer"
            token = _get_json(f"{issuer}/token?user={user_ids[n % users]}")["token"]
            sockets.append(
                await session.ws_connect(f"ws://127.0.0.1:{port}/local", protocols=("healthcoach.v1", token))
            )

        async def read(ws: aiohttp.ClientWebSocketResponse) -> None:
            async for message in ws:
                if message.type == aiohttp.WSMsgType.TEXT:
                    frame = json.loads(message.data)
                    if "id" in frame:  # not presence and other control frames
                        arrivals.setdefault(frame["id"], time.perf_counter())
                    arrived.set()

        readers = [asyncio.create_task(read(ws)) for ws in sockets]
        data = sample_data("foodLogCreated")
        latencies: list[float] = []
        for n in range(WARMUP_EVENTS + events):
            user = user_ids[n % users]
            started = time.perf_counter()
            event_id = await asyncio.to_thread(emit, user, "foodLogCreated", data)
            while event_id not in arrivals:
                arrived.clear()
                await asyncio.wait_for(arrived.wait(), timeout=10)
            if n >= WARMUP_EVENTS:
                latencies.append((arrivals[event_id] - started) * 1000)
            await asyncio.sleep(PAUSE_SECONDS)
        for ws in sockets:
            await ws.close()
        for reader in readers:
            reader.cancel()
    latencies.sort()
    return {
        "connections": connections,
        "users": users,
        "events": events,
        "median_ms": statistics.median(latencies),
        "p90_ms": latencies[int(0.90 * (len(latencies) - 1))],
        "p99_ms": latencies[int(0.99 * (len(latencies) - 1))],
        "max_ms": latencies[-1],
        "mean_ms": statistics.fmean(latencies),
    }


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (loopback)
        return json.loads(response.read())


@contextmanager
def _stack(port: int | None) -> Iterator[int]:
    """The given port, or a fresh ``hc-realtime dev`` on free ports, stopped afterwards."""
    if port is not None:
        yield port
        return
    from tests.support.local_stack import free_port_pair, stack_process

    port = free_port_pair()
    command = [sys.executable, "-m", "healthcoach_realtime.cli", "dev", "--port", str(port)]
    # A stack that just lost 1,000 clients is still running their $disconnects: give it time.
    with stack_process(command, port, env=dict(os.environ), stop_seconds=60):
        yield port


if __name__ == "__main__":
    sys.exit(main())
