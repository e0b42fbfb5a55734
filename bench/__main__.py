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

from bench import call_cost, cost, latency, report
from bench.calls import measure_calls
from bench.cold_start import measure_cold_starts
from bench.fanout import MODELED_RTT_MS, measure_fanout
from bench.rig import Rig
from bench.servers import emulator, management_api, server_pid
from bench.targets import targets

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
            costs = call_cost.measure_call_costs(rig, server_pid(aws), server_pid(ws))
            results["call_costs"] = call_cost.as_rows(costs)
            for row in results["call_costs"]:
                progress(f"CPU per call, {row['kind']}: {row['total_ms']:.2f} ms")
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


if __name__ == "__main__":
    sys.exit(main())
