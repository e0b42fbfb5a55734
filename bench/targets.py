"""The benchmark's targets, each with what a run measured and whether it is met (pure)."""

from __future__ import annotations

from typing import Any

__all__ = ["CEILING_SHARE", "GUIDE_MULTIPLE", "targets"]

CEILING_SHARE = 0.8  # of the posts-only ceiling, at every connections-per-user point (modeled)
GUIDE_MULTIPLE = 3.0  # times the guide's direct push, at 1 and 5 connections per user (modeled)
GUIDE_POINTS = (1, 5)


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per target: ``name``, ``goal``, ``measured`` and ``met``."""
    return [
        _ceiling_share(results["fanout"]),
        _guide_multiple(results["fanout"]),
        *_reads(results["calls"]),
        _cold_imports(results["cold_start"]),
        _local_latency(results["latency"]),
    ]


def _modeled(fanout: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in fanout if r["regime"] == "modeled"]


def _ceiling_share(fanout: list[dict[str, Any]]) -> dict[str, Any]:
    rows = _modeled(fanout)
    shares = [r["ours_msgs_per_s"] / r["ceiling_msgs_per_s"] for r in rows]
    return {
        "name": "fan-out, ours / posts-only ceiling (modeled)",
        "goal": f">= {CEILING_SHARE:g} at "
        + ", ".join(str(r["connections_per_user"]) for r in rows)
        + " connections/user",
        "measured": ", ".join(f"{s:.2f}" for s in shares),
        "met": bool(shares) and min(shares) >= CEILING_SHARE,
    }


def _guide_multiple(fanout: list[dict[str, Any]]) -> dict[str, Any]:
    rows = [r for r in _modeled(fanout) if r["connections_per_user"] in GUIDE_POINTS]
    return {
        "name": "fan-out, ours / the guide's direct push (modeled)",
        "goal": f">= {GUIDE_MULTIPLE:g}x at " + " and ".join(map(str, GUIDE_POINTS)) + " connections/user",
        "measured": ", ".join(f"{r['ratio']:.2f}x" for r in rows),
        "met": len(rows) == len(GUIDE_POINTS) and min(r["ratio"] for r in rows) >= GUIDE_MULTIPLE,
    }


def _reads(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    def reads(side: str, load: str, events: int, per_user: int = 1) -> float:
        return float(
            next(
                r["dynamodb_reads_per_event"]
                for r in calls
                if (r["side"], r["load"], r["events"], r["connections_per_user"])
                == (side, load, events, per_user)
            )
        )

    ours_burst, guide_burst = reads("ours", "burst", 100), reads("baseline", "burst", 100)
    uniform = [r for r in calls if r["side"] == "ours" and r["load"] == "uniform"]
    worse = [
        r
        for r in uniform
        if r["dynamodb_reads_per_event"]
        > reads("baseline", "uniform", r["events"], r["connections_per_user"])
    ]
    return [
        {
            "name": "DynamoDB reads/event, burst of 100",
            "goal": "<= 1/5 of the guide's",
            "measured": f"{ours_burst:.2f} vs {guide_burst:.2f} ({ours_burst / guide_burst:.2f})",
            "met": ours_burst <= guide_burst / 5,
        },
        {
            "name": "DynamoDB reads/event, uniform load",
            "goal": "never more than the guide's",
            "measured": f"{reads('ours', 'uniform', 100):.2f} vs {reads('baseline', 'uniform', 100):.2f} "
            f"at 100 events; {len(worse)} of {len(uniform)} points above the guide",
            "met": not worse,
        },
    ]


def _cold_imports(cold_start: list[dict[str, Any]]) -> dict[str, Any]:
    imports = {r["handler"]: r["import_ms_median"] for r in cold_start}
    return {
        "name": "cold import of every handler",
        "goal": "<= 350 ms",
        "measured": ", ".join(f"{k} {v:.0f} ms" for k, v in imports.items()),
        "met": max(imports.values()) <= 350,
    }


def _local_latency(latency: list[dict[str, Any]]) -> dict[str, Any]:
    at_100 = next(r for r in latency if r["connections"] == 100)
    return {
        "name": "local e2e at 100 connections",
        "goal": "median <= 25 ms, p99 <= 60 ms",
        "measured": f"median {at_100['median_ms']:.1f} ms, p99 {at_100['p99_ms']:.1f} ms",
        "met": at_100["median_ms"] <= 25 and at_100["p99_ms"] <= 60,
    }
