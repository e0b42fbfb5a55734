"""What one call costs on this rig, in CPU: the caller's and the server's.

Both share the same two cores here, so the fan-out benchmark's throughput (and its posts-only
ceiling) is bound by CPU, and a DynamoDB call weighs on it by what the caller and the AWS
emulator spend on it, against what a post costs the caller and the @connections fake. Each call's
CPU is the bench process's (``time.process_time``) plus the server's (its child process's
``/proc`` times), over many sequential calls, on the rig's fresh tables (moto's work per query
grows with the table). On AWS neither server's work is on the function's cores.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from bench.rig import Rig
from bench.servers import server_cpu_seconds
from bench.workload import Workload

__all__ = ["CALLS", "CallCost", "as_rows", "measure_call_costs"]

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


def as_rows(costs: list[CallCost]) -> list[dict[str, Any]]:
    """JSON-ready rows, with the total."""
    return [{**asdict(c), "total_ms": c.total_ms} for c in costs]
