"""Fan-out throughput: messages per second delivered to the @connections fake, ours vs baseline.

A uniform load (events round-robin over 10 users, so a batch of 10 has 10 different users):
the case where batching saves no lookups, and only concurrency can make a difference.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from bench.rig import Rig
from bench.workload import Workload

__all__ = ["CONNECTIONS_PER_USER", "measure_fanout"]

CONNECTIONS_PER_USER = (1, 5, 20)
USERS = 10
MESSAGES = 600  # per side and point: events = MESSAGES / connections per user
WARMUP_EVENTS = 10


def measure_fanout(rig: Rig, progress: Callable[[str], None]) -> list[dict[str, Any]]:
    """One row per connections-per-user: messages/s of each side and their ratio."""
    rows = []
    for per_user in CONNECTIONS_PER_USER:
        workload = Workload(rig.dynamodb, rig.table, users=USERS, per_user=per_user)
        events = MESSAGES // per_user
        rates = {}
        for side, run in (("baseline", rig.run_baseline), ("ours", rig.run_ours)):
            run(workload.events(WARMUP_EVENTS, burst=False))
            envelopes = workload.events(events, burst=False)
            rig.counter.reset()
            started = time.perf_counter()
            run(envelopes)
            elapsed = time.perf_counter() - started
            posted = rig.counter.count("apigatewaymanagementapi.PostToConnection")
            if posted != events * per_user:
                raise RuntimeError(f"{side}: {posted} posts for {events} events x {per_user} connections")
            rates[side] = posted / elapsed
        row = {
            "connections_per_user": per_user,
            "events": events,
            "messages": events * per_user,
            "baseline_msgs_per_s": rates["baseline"],
            "ours_msgs_per_s": rates["ours"],
            "ratio": rates["ours"] / rates["baseline"],
        }
        progress(
            f"fan-out, {per_user} connection(s)/user: ours {row['ours_msgs_per_s']:.0f} msg/s, "
            f"baseline {row['baseline_msgs_per_s']:.0f} msg/s, x{row['ratio']:.2f}"
        )
        rows.append(row)
    return rows
