"""``python -m bench`` (``make bench``): every benchmark in one run, progress as it goes.

Writes ``bench/results.json``, ``bench/results.md`` and ``bench/plot.png``; exits 0 even when a
target is missed (the report says which): a benchmark measures, it does not gate.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from datetime import UTC, datetime
from typing import Any

from bench import cost, latency, report
from bench.calls import measure_calls
from bench.cold_start import measure_cold_starts
from bench.fanout import MODELED_RTT_MS, measure_fanout
from bench.rig import Rig
from bench.servers import emulator, management_api

STARTED = time.monotonic()


def progress(message: str) -> None:
    """One line per finished step, with the elapsed time."""
    print(f"[{time.monotonic() - STARTED:6.1f} s] {message}", flush=True)


def main() -> int:
    results: dict[str, Any] = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.machine()}",
    }
    progress("fan-out, AWS calls and cold start against the AWS emulator and a loopback @connections fake")
    with emulator() as aws, management_api() as ws:
        rig = Rig(aws, ws)
        try:
            results["modeled_rtt_ms"] = MODELED_RTT_MS
            results["fanout"] = measure_fanout(rig, progress)
            results["calls"] = measure_calls(rig, progress)
        finally:
            rig.close()
        results["cold_start"] = measure_cold_starts(aws, ws, progress)
    progress("end-to-end latency on hc-realtime dev")
    results["latency"] = latency.measure_points(latency.POINTS, progress)
    results["cost"] = cost_table(results["calls"])
    results["targets"] = targets(results)
    for path in report.write_reports(results):
        progress(f"wrote {path.relative_to(path.parents[1])}")
    for t in results["targets"]:
        progress(f"target {'met' if t['met'] else 'MISSED'}: {t['name']} ({t['goal']}): {t['measured']}")
    return 0


def cost_table(calls: list[dict[str, Any]]) -> dict[str, Any]:
    """Per connections-per-user, the cost per million events of the 100-event counts."""

    def counted(side: str, load: str, per_user: int) -> dict[str, Any]:
        return next(
            r
            for r in calls
            if (r["side"], r["load"], r["connections_per_user"], r["events"]) == (side, load, per_user, 100)
        )

    rows = [
        {
            "connections_per_user": n,
            "baseline": cost.cost_per_million_events(counted("baseline", "uniform", n), pipeline=False),
            "ours_uniform": cost.cost_per_million_events(counted("ours", "uniform", n), pipeline=True),
            "ours_burst": cost.cost_per_million_events(counted("ours", "burst", n), pipeline=True),
        }
        for n in sorted({r["connections_per_user"] for r in calls})
    ]
    return {
        "as_of": cost.PRICES_AS_OF,
        "prices": cost.PRICES,
        "published": cost.PUBLISHED_PRICES,
        "assumed": cost.ASSUMED_PRICES,
        "rows": rows,
    }


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets, each with what was measured in this run."""
    fanout_rows = {
        regime: [r for r in results["fanout"] if r["regime"] == regime] for regime in ("loopback", "modeled")
    }
    reads = {
        (r["side"], r["load"], r["events"]): r["dynamodb_reads_per_event"]
        for r in results["calls"]
        if r["connections_per_user"] == 1
    }
    ours_burst, base_burst = reads[("ours", "burst", 100)], reads[("baseline", "burst", 100)]
    ours_uniform, base_uniform = reads[("ours", "uniform", 100)], reads[("baseline", "uniform", 100)]
    burst = ours_burst / base_burst
    uniform_points = sum(1 for r in results["calls"] if r["side"] == "ours" and r["load"] == "uniform")
    uniform_worse = [
        r
        for r in results["calls"]
        if r["side"] == "ours"
        and r["load"] == "uniform"
        and r["dynamodb_reads_per_event"]
        > reads_of(results["calls"], "baseline", r["load"], r["events"], r["connections_per_user"])
    ]
    imports = {r["handler"]: r["import_ms_median"] for r in results["cold_start"]}
    at_100 = next(r for r in results["latency"] if r["connections"] == 100)
    return [
        *(
            {
                "name": f"fan-out messages/s vs baseline ({regime})",
                "goal": ">= 3x at 1, 5 and 20 connections/user",
                "measured": ", ".join(f"{r['ratio']:.2f}x" for r in rows)
                + " (posts-only ceiling: "
                + ", ".join(f"{r['ceiling_ratio']:.2f}x" for r in rows)
                + ")",
                "met": min(r["ratio"] for r in rows) >= 3,
            }
            for regime, rows in fanout_rows.items()
        ),
        {
            "name": "DynamoDB reads/event, burst of 100",
            "goal": "<= 1/5 of baseline",
            "measured": f"{ours_burst:.2f} vs {base_burst:.2f} ({burst:.2f})",
            "met": burst <= 0.2,
        },
        {
            "name": "DynamoDB reads/event, uniform load",
            "goal": "never more than baseline",
            "measured": f"{ours_uniform:.2f} vs {base_uniform:.2f} at 100 events; "
            f"{len(uniform_worse)} of {uniform_points} points above the baseline",
            "met": not uniform_worse,
        },
        {
            "name": "cold import of every handler",
            "goal": "<= 350 ms",
            "measured": ", ".join(f"{k} {v:.0f} ms" for k, v in imports.items()),
            "met": max(imports.values()) <= 350,
        },
        {
            "name": "local e2e at 100 connections",
            "goal": "median <= 25 ms, p99 <= 60 ms",
            "measured": f"median {at_100['median_ms']:.1f} ms, p99 {at_100['p99_ms']:.1f} ms",
            "met": at_100["median_ms"] <= 25 and at_100["p99_ms"] <= 60,
        },
    ]


def reads_of(calls: list[dict[str, Any]], side: str, load: str, events: int, per_user: int) -> float:
    """DynamoDB reads per event of one counted point."""
    return float(
        next(
            r["dynamodb_reads_per_event"]
            for r in calls
            if (r["side"], r["load"], r["events"], r["connections_per_user"])
            == (side, load, events, per_user)
        )
    )


if __name__ == "__main__":
    sys.exit(main())
