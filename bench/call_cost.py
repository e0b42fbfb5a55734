"""What one call costs on this rig, in CPU, and the bound that puts on any dispatcher.

The fan-out benchmark's posts-only ceiling is CPU-bound here: its posts overlap their modeled
round trips, but each post's client work and the @connections fake's work share the same two
cores. A dispatcher's DynamoDB calls share those cores too (the client's work and the AWS
emulator's), so on this rig a dispatcher that makes ``k`` DynamoDB calls per event delivers at
most ``post / (post + k * dynamodb)`` of the ceiling at one connection per user, whatever it
overlaps. The bound is measured, not assumed: each call's CPU is the bench process's
(``time.process_time``) plus the server's (its child process's ``/proc`` times), over many
sequential calls.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from bench.rig import Rig
from bench.servers import server_cpu_seconds
from bench.workload import Workload

__all__ = ["CALLS", "CallCost", "as_rows", "bounds", "measure_call_costs", "share_of_ceiling"]

CALLS = 300  # per kind; /proc counts CPU in ticks of 10 ms, so a few seconds in all


@dataclass(frozen=True)
class CallCost:
    """Milliseconds of CPU one call costs: in the caller, in the server, and both."""

    kind: str
    client_ms: float
    server_ms: float

    @property
    def total_ms(self) -> float:
        return self.client_ms + self.server_ms


def measure_call_costs(rig: Rig, aws_pid: int, ws_pid: int) -> list[CallCost]:
    """The dispatcher's connection lookup (a GSI ``Query``) and one ``PostToConnection``."""
    workload = Workload(rig.dynamodb, rig.table, users=1, per_user=1)
    user = workload.user_ids[0]
    connection_id = workload.connection_ids(user)[0]
    return [
        _cost("DynamoDB call (connection lookup)", aws_pid, lambda: rig.store.sessions_of(user)),
        _cost(
            "PostToConnection",
            ws_pid,
            lambda: rig.management.post_to_connection(ConnectionId=connection_id, Data=b'{"type":"x"}'),
        ),
    ]


def _cost(kind: str, server_pid: int, call: Callable[[], Any]) -> CallCost:
    call()  # warm: connection pool, caches
    client_started, server_started = time.process_time(), server_cpu_seconds(server_pid)
    for _ in range(CALLS):
        call()
    client = time.process_time() - client_started
    server = server_cpu_seconds(server_pid) - server_started
    return CallCost(kind, client * 1000 / CALLS, server * 1000 / CALLS)


def share_of_ceiling(post: CallCost, dynamodb: CallCost, dynamodb_calls_per_event: float) -> float:
    """The most of the posts-only ceiling a dispatcher reaches at one connection per user when it
    makes ``dynamodb_calls_per_event`` DynamoDB calls per event, on a rig where CPU binds."""
    return post.total_ms / (post.total_ms + dynamodb_calls_per_event * dynamodb.total_ms)


def as_rows(costs: list[CallCost]) -> list[dict[str, Any]]:
    """JSON-ready rows, with the total."""
    return [{**asdict(c), "total_ms": c.total_ms} for c in costs]


def bounds(costs: list[CallCost], ours_calls_per_event: float) -> list[dict[str, Any]]:
    """The bound at one connection per user for our dispatcher as it is (``ours_calls_per_event``),
    for one DynamoDB call per event, and for one per batch of 10 events."""
    dynamodb, post = costs
    return [
        {
            "design": label,
            "dynamodb_calls_per_event": k,
            "share_of_ceiling": share_of_ceiling(post, dynamodb, k),
        }
        for label, k in (
            ("ours", ours_calls_per_event),
            ("one call per event", 1.0),
            ("one call per batch of 10", 0.1),
        )
    ]
