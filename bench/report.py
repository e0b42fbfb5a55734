"""Write the results: ``results.json`` (everything), ``results.md`` (tables) and ``plot.png``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["markdown", "write_reports"]

HERE = Path(__file__).resolve().parent


def write_reports(results: dict[str, Any], directory: Path = HERE) -> list[Path]:
    """The three files in ``directory``; returns their paths."""
    paths = [directory / "results.json", directory / "results.md", directory / "plot.png"]
    paths[0].write_text(json.dumps(results, indent=2) + "\n")
    paths[1].write_text(markdown(results))
    _plot(results, paths[2])
    return paths


def markdown(results: dict[str, Any]) -> str:
    """The Markdown tables (the README's Benchmarks section quotes them)."""
    lines = [
        f"Run {results['generated_at']} on {results['machine']}.",
        "",
        "| Target | Goal | Measured | Met |",
        "| --- | --- | --- | --- |",
    ]
    lines += [
        f"| {t['name']} | {t['goal']} | {t['measured']} | {'yes' if t['met'] else '**no**'} |"
        for t in results["targets"]
    ]
    lines += ["", "**Local end-to-end latency** (emit -> frame on the socket, `hc-realtime dev`)", ""]
    lines += [
        "| Connections | Users | Events | Median ms | p90 ms | p99 ms | Max ms |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    lines += [
        f"| {r['connections']} | {r['users']} | {r['events']} | {r['median_ms']:.1f} | {r['p90_ms']:.1f} | "
        f"{r['p99_ms']:.1f} | {r['max_ms']:.1f} |"
        for r in results["latency"]
    ]
    lines += [
        "",
        "**Fan-out throughput** (messages/s to the loopback @connections fake, each side's median of "
        f"{_fanout_rounds(results)} alternating rounds; uniform load, 10 users;"
        " `loopback`: calls cost only CPU on the same two cores; `modeled`: each call also waits "
        + ", ".join(f"{k} {v:g} ms" for k, v in results.get("modeled_rtt_ms", {}).items())
        + ", an assumed in-region round trip. `Ceiling`: the same messages posted as the dispatcher"
        " posts them, with no DynamoDB call at all; no dispatcher can beat it with these clients here)",
        "",
    ]
    lines += [
        "| Regime | Connections/user | Messages | Baseline msg/s | Ours msg/s | Ratio "
        "| Ceiling msg/s | Ceiling ratio | Ours / ceiling |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    lines += [
        f"| {r['regime']} | {r['connections_per_user']} | {r['messages']} | {r['baseline_msgs_per_s']:.0f} | "
        f"{r['ours_msgs_per_s']:.0f} | {r['ratio']:.2f}x | {r['ceiling_msgs_per_s']:.0f} | "
        f"{r['ceiling_ratio']:.2f}x | {r['ours_msgs_per_s'] / r['ceiling_msgs_per_s']:.2f} |"
        for r in results["fanout"]
    ]
    lines += _call_costs(results)
    lines += [
        "",
        "**AWS calls per event** (counted with botocore `before-call` hooks; 1 connection per user)",
        "",
    ]
    lines += [
        "| Load | Events | Side | DynamoDB reads | DynamoDB writes | RRU | WRU | PostToConnection |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    lines += [
        f"| {r['load']} | {r['events']} | {r['side']} | {r['dynamodb_reads_per_event']:.2f} | "
        f"{r['dynamodb_writes_per_event']:.2f} | {r['read_units_per_event']:.2f} | "
        f"{r['write_units_per_event']:.2f} | {r['posts_per_event']:.2f} |"
        for r in results["calls"]
        if r["connections_per_user"] == 1
    ]
    cost = results["cost"]
    lines += [
        "",
        f"**Cost per million events** (USD, list prices {cost['as_of']}; Lambda compute not modelled)",
        "",
    ]
    lines += [
        "| Connections/user | Baseline | Ours, uniform | Ours, burst |",
        "| ---: | ---: | ---: | ---: |",
    ]
    lines += [
        f"| {r['connections_per_user']} | {r['baseline']['total']:.2f} | {r['ours_uniform']['total']:.2f} | "
        f"{r['ours_burst']['total']:.2f} |"
        for r in cost["rows"]
    ]
    lines += [
        "",
        "Published prices (USD; the unit is in each name): "
        + ", ".join(f"{k} {v}" for k, v in cost.get("published", cost["prices"]).items())
        + ".",
    ]
    if cost.get("assumed"):
        lines += [
            "",
            "Assumed prices (the Custom Event Bus publishes none; each is set from a classic EventBridge "
            "price): " + ", ".join(f"{k} {v}" for k, v in cost["assumed"].items()) + ".",
        ]
    lines += [
        "",
        "**Cold start** (fresh `python -I`, handler loaded by path, first invocation against moto)",
        "",
    ]
    lines += [
        "| Handler | Import ms (median / max) | First invocation ms (median / max) |",
        "| --- | ---: | ---: |",
    ]
    lines += [
        f"| {r['handler']} | {r['import_ms_median']:.0f} / {r['import_ms_max']:.0f} | "
        f"{r['first_invocation_ms_median']:.0f} / {r['first_invocation_ms_max']:.0f} |"
        for r in results["cold_start"]
    ]
    return "\n".join(lines) + "\n"


def _call_costs(results: dict[str, Any]) -> list[str]:
    """CPU per call on this rig: what a DynamoDB call weighs against a post."""
    lines = [
        "",
        "**CPU per call on this rig** (the caller's and the server's, over many sequential calls on fresh "
        "tables; both share the two cores, so throughput here pays for each call's CPU on both sides)",
        "",
        "| Call | Caller ms | Server ms | Total ms |",
        "| --- | ---: | ---: | ---: |",
    ]
    return lines + [
        f"| {r['kind']} | {r['client_ms']:.2f} | {r['server_ms']:.2f} | {r['total_ms']:.2f} |"
        for r in results["call_costs"]
    ]


def _fanout_rounds(results: dict[str, Any]) -> int:
    """How many rounds each fan-out point's medians were taken over (as the results record)."""
    return len(results["fanout"][0]["rounds"]["ours"])


def _plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (latency, fanout) = plt.subplots(1, 2, figsize=(13, 4))
    connections = [r["connections"] for r in results["latency"]]
    latency.plot(connections, [r["median_ms"] for r in results["latency"]], "o-", label="median")
    latency.plot(connections, [r["p99_ms"] for r in results["latency"]], "s--", label="p99")
    latency.set_xscale("log")
    latency.set_xlabel("open connections")
    latency.set_ylabel("emit -> frame (ms)")
    latency.set_title("Local end-to-end latency")
    latency.legend()
    for regime in sorted({r["regime"] for r in results["fanout"]}):
        rows = [r for r in results["fanout"] if r["regime"] == regime]
        per_user = [r["connections_per_user"] for r in rows]
        fanout.plot(per_user, [r["ours_msgs_per_s"] for r in rows], "o-", label=f"ours, {regime}")
        fanout.plot(per_user, [r["baseline_msgs_per_s"] for r in rows], "s--", label=f"baseline, {regime}")
        fanout.plot(
            per_user, [r["ceiling_msgs_per_s"] for r in rows], "^:", label=f"posts-only ceiling, {regime}"
        )
    fanout.set_xticks(sorted({r["connections_per_user"] for r in results["fanout"]}))
    fanout.set_xlabel("connections per user")
    fanout.set_ylabel("messages / s")
    fanout.set_title("Fan-out throughput")
    fanout.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
