"""Fan-out throughput: messages per second delivered to the @connections fake, ours vs baseline.

A uniform load (events round-robin over 10 users, so a batch of 10 has 10 different users):
the case where batching saves no lookups, and only concurrency can make a difference.

Two regimes, both sides on the same clients:
- ``loopback``: moto and the fake answer as fast as the two cores allow. Every call is CPU, on
  the same cores, so this counts calls more than it measures waiting.
- ``modeled``: each call also waits a modeled in-region round trip (``MODELED_RTT_MS``), as a
  Lambda function's calls do in AWS: there a call is mostly waiting, which concurrency overlaps.
  The numbers are assumptions, not measurements (no AWS account here): DynamoDB's documented
  single-digit milliseconds, and a slower PostToConnection (it crosses API Gateway's fleet).

Each point also measures a ceiling (``Rig.run_posts_only``): the same messages posted the way the
dispatcher posts them, with no DynamoDB call at all. Its ratio to the baseline bounds what any
dispatcher could reach with these clients on this machine, whatever it keeps or looks up.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from bench.rig import Rig
from bench.workload import Workload

__all__ = ["CONNECTIONS_PER_USER", "MODELED_RTT_MS", "REGIMES", "measure_fanout"]

CONNECTIONS_PER_USER = (1, 5, 20)
USERS = 10
MESSAGES = 600  # per side, point and round: events = MESSAGES / connections per user
WARMUP_EVENTS = 10
# Rounds per point, the sides alternating; each side's median is reported. One round's rate
# varied by up to ~40% between identical runs on the 2-core machine.
ROUNDS = 3
MODELED_RTT_MS = {"dynamodb": 5.0, "apigatewaymanagementapi": 10.0}
REGIMES = ("loopback", "modeled")


def measure_fanout(rig: Rig, progress: Callable[[str], None]) -> list[dict[str, Any]]:
    """One row per regime and connections-per-user: messages/s of each side and their ratio."""
    rows = []
    for regime in REGIMES:
        rig.network_delay = {k: v / 1000 for k, v in MODELED_RTT_MS.items()} if regime == "modeled" else {}
        try:
            rows += [_measure_point(rig, regime, per_user, progress) for per_user in CONNECTIONS_PER_USER]
        finally:
            rig.network_delay = {}
    return rows


def _measure_point(rig: Rig, regime: str, per_user: int, progress: Callable[[str], None]) -> dict[str, Any]:
    workload = Workload(rig.dynamodb, rig.table, users=USERS, per_user=per_user)
    events = MESSAGES // per_user
    sides: dict[str, Callable[[list[dict[str, Any]]], None]] = {
        "baseline": rig.run_baseline,
        "ours": rig.run_ours,
        "ceiling": lambda envelopes: rig.run_posts_only(envelopes, workload),
    }
    rates: dict[str, list[float]] = {side: [] for side in sides}
    for _ in range(ROUNDS):
        for side, run in sides.items():
            rates[side].append(_rate(rig, run, workload, events, per_user, side))
    baseline, ours, ceiling = (statistics.median(rates[side]) for side in sides)
    row = {
        "regime": regime,
        "connections_per_user": per_user,
        "events": events,
        "messages": events * per_user,
        "baseline_msgs_per_s": baseline,
        "ours_msgs_per_s": ours,
        "ratio": ours / baseline,
        "ceiling_msgs_per_s": ceiling,
        "ceiling_ratio": ceiling / baseline,
        "rounds": {side: [round(r, 1) for r in values] for side, values in rates.items()},
    }
    progress(
        f"fan-out ({regime}), {per_user} connection(s)/user: ours {row['ours_msgs_per_s']:.0f} msg/s, "
        f"baseline {row['baseline_msgs_per_s']:.0f} msg/s, x{row['ratio']:.2f}; "
        f"posts-only ceiling x{row['ceiling_ratio']:.2f} (medians of {ROUNDS} rounds)"
    )
    return row


def _rate(
    rig: Rig,
    run: Callable[[list[dict[str, Any]]], None],
    workload: Workload,
    events: int,
    per_user: int,
    side: str,
) -> float:
    """One round of one side: messages posted per second (after a short warm-up)."""
    run(workload.events(WARMUP_EVENTS, burst=False))
    envelopes = workload.events(events, burst=False)
    rig.counter.reset()
    started = time.perf_counter()
    run(envelopes)
    elapsed = time.perf_counter() - started
    posted = rig.counter.count("apigatewaymanagementapi.PostToConnection")
    if posted != events * per_user:
        raise RuntimeError(f"{side}: {posted} posts for {events} events x {per_user} connections")
    return posted / elapsed
