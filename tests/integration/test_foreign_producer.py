"""A producer that knows only the bus contract reaches the browser, in order, on the local stack.

The producer is a separate Python process that imports boto3 and nothing of this package: it
finds the bus with ``ListEventBuses`` on the stack's AWS endpoint and publishes with the
``eventbridgev2`` client, interleaving two users' events over several calls, exactly as DESIGN.md's
envelope table tells a producer in any language to. Each browser must get its own user's events,
in the order published, and none of the other user's.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import uuid
from typing import Any

import aiohttp
from tests.support.local_stack import StackUrls
from tests.support.stack_client import connect, next_frame, run

EVENTS_PER_USER = 12

PRODUCER = textwrap.dedent(
    """
    import json, sys
    import boto3

    endpoint, users, count = sys.argv[1], sys.argv[2].split(","), int(sys.argv[3])
    bus = boto3.client("eventbridgev2", endpoint_url=endpoint, region_name="us-east-1",
                       aws_access_key_id="producer", aws_secret_access_key="producer")
    [found] = [b for b in bus.list_event_buses(NamePrefix="healthcoach-realtime")["EventBuses"]
               if b["Name"] == "healthcoach-realtime"]
    for step in range(0, count, 3):  # three events of each user per call, users interleaved
        entries = [
            {
                "Source": "healthcoach.health-metrics",
                "DetailType": "healthMetricCreated",
                "Detail": json.dumps({"userId": user, "data": {"id": f"m{n}", "metric": "steps",
                                                               "value": n, "unit": "steps"}}),
                "SystemMetadata": {"EventGroupId": user, "DeduplicationId": f"{user}-m{n}"},
            }
            for n in range(step, min(step + 3, count))
            for user in users
        ]
        answer = bus.put_events(EventBusArn=found["EventBusArn"], Entries=entries)
        assert answer["FailedEntryCount"] == 0, answer
    print("published", flush=True)
    """
)


def test_a_producer_with_only_boto3_reaches_each_browser_in_order(local_stack: StackUrls) -> None:
    """Two users' 12 interleaved events each: every browser gets m0..m11 of its own user, in order."""
    users = [f"producer-{uuid.uuid4().hex[:8]}" for _ in range(2)]

    async def scenario(session: aiohttp.ClientSession) -> dict[str, list[Any]]:
        sockets = {user: await connect(session, local_stack, user) for user in users}
        producer = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-c", PRODUCER, local_stack.emulator_url, ",".join(users), str(EVENTS_PER_USER)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert producer.returncode == 0, producer.stderr
        received: dict[str, list[Any]] = {}
        for user, ws in sockets.items():
            frames = [await next_frame(ws) for _ in range(EVENTS_PER_USER)]
            received[user] = [(f["type"], f["data"]["id"], f["data"]["value"]) for f in frames]
            await ws.close()
        return received

    received = run(scenario)
    expected = [("healthMetricCreated", f"m{n}", n) for n in range(EVENTS_PER_USER)]
    assert received == dict.fromkeys(users, expected)
