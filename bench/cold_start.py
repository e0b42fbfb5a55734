"""Cold start of each Lambda handler: a fresh ``python -I`` process loads
``functions/<name>/handler.py`` by path (as Lambda does) and invokes it once against moto.

Import time is the handler module's load (package, boto3, Powertools); first invocation
includes building the boto3 clients and the first calls (and, for $connect, the JWKS fetch).
The interpreter's own start-up is not included: Lambda's runtime has already paid it.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3

from bench.servers import REPO, aws_env
from healthcoach_realtime import manifest
from healthcoach_realtime.connections import Connection, ConnectionStore
from healthcoach_realtime.local import provision
from healthcoach_realtime.settings import ENVIRONMENT_VARIABLES

__all__ = ["HANDLERS", "RUNS", "measure_cold_starts"]

HANDLERS = ("connect", "disconnect", "dispatcher", "stream_bridge", "session_sweeper")
RUNS = 3
EVENTS = REPO / "tests" / "events"
_SAMPLE_EVENTS = {
    "connect": "apigw_connect.json",
    "disconnect": "apigw_disconnect.json",
    "dispatcher": "sqs_dispatch_batch.json",
    "stream_bridge": "dynamodb_stream_batch.json",
    "session_sweeper": "scheduler_session_sweep.json",
}
_MARK = "BENCH-COLD-START "
_PROBE = """
import importlib.util, json, sys, time
path, event_path = sys.argv[1], sys.argv[2]
class Context:
    function_name = "bench"; memory_limit_in_mb = 256; aws_request_id = "bench-request"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    def get_remaining_time_in_millis(self): return 30000
event = json.load(open(event_path))
started = time.perf_counter()
spec = importlib.util.spec_from_file_location("handler", path)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
imported = time.perf_counter()
result = module.handler(event, Context())
invoked = time.perf_counter()
status = result.get("statusCode", len(result.get("batchItemFailures", [])))
print("%s" + json.dumps({"import_ms": (imported - started) * 1000,
    "first_invocation_ms": (invoked - imported) * 1000, "result": status}), flush=True)
"""


def measure_cold_starts(
    aws_endpoint: str, ws_endpoint: str, progress: Callable[[str], None]
) -> list[dict[str, Any]]:
    """Per handler: median and max import / first-invocation time over ``RUNS`` fresh processes."""
    rows = []
    with _environment(aws_endpoint, ws_endpoint) as (provided, events):
        for name in HANDLERS:
            env = _function_environment(name, provided)
            runs = [_probe(name, events[name], env) for _ in range(RUNS)]
            row = {
                "handler": name,
                "import_ms_median": statistics.median(r["import_ms"] for r in runs),
                "import_ms_max": max(r["import_ms"] for r in runs),
                "first_invocation_ms_median": statistics.median(r["first_invocation_ms"] for r in runs),
                "first_invocation_ms_max": max(r["first_invocation_ms"] for r in runs),
                "result": runs[0]["result"],
            }
            progress(
                f"cold start, {name}: import {row['import_ms_median']:.0f} ms "
                f"(max {row['import_ms_max']:.0f}), "
                f"first invocation {row['first_invocation_ms_median']:.0f} ms"
            )
            rows.append(row)
    return rows


def _probe(name: str, event_path: Path, env: dict[str, str]) -> dict[str, Any]:
    completed = subprocess.run(  # noqa: S603 (this interpreter, fixed script)
        [
            sys.executable,
            "-I",
            "-c",
            _PROBE % _MARK,
            str(REPO / "functions" / name / "handler.py"),
            str(event_path),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    for line in completed.stdout.splitlines():
        if line.startswith(_MARK):
            result: dict[str, Any] = json.loads(line[len(_MARK) :])
            return result
    raise RuntimeError(f"{name} did not report: {completed.stderr[-2000:]}")


def _function_environment(name: str, provided: dict[str, str]) -> dict[str, str]:
    """As deployed: the settings the manifest says ``name`` reads, and nothing else of them."""
    settings = set(ENVIRONMENT_VARIABLES)
    reads = set(manifest.by_name()[name].settings)
    return {k: v for k, v in provided.items() if k not in settings or k in reads}


@contextmanager
def _environment(aws_endpoint: str, ws_endpoint: str) -> Iterator[tuple[dict[str, str], dict[str, Path]]]:
    """Tables, bus, queues and a JWKS issuer on moto; every setting they need, and the events."""
    from tests.support.jwks_server import JwksServer

    from healthcoach_realtime.dev_identity import DevIssuer

    session = boto3.Session(aws_access_key_id="bench", aws_secret_access_key="bench", region_name="us-east-1")  # noqa: S106
    dynamodb: Any = session.client("dynamodb", endpoint_url=aws_endpoint)
    table = "bench-cold-connections"
    provision.create_connections_table(dynamodb, table)
    env = {
        **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")},
        **aws_env(aws_endpoint),
        "CONNECTIONS_TABLE": table,
        "WS_API_ENDPOINT": ws_endpoint,
        "POWERTOOLS_SERVICE_NAME": "healthcoach-realtime",
        "POWERTOOLS_METRICS_NAMESPACE": "HealthCoachRealtime",
        "USER_POOL_CLIENT_ID": "bench-client",
        # One pass: the deployed second pass waits 30 s into the run (not start-up cost).
        "SESSION_SWEEPS_PER_RUN": "1",
    }
    if hasattr(provision, "create_history_table"):
        provision.create_history_table(dynamodb, "bench-cold-history")
        env["HISTORY_TABLE"] = "bench-cold-history"
    pipeline = provision.create_event_pipeline(
        session.client("eventbridgev2", endpoint_url=aws_endpoint),
        session.client("sqs", endpoint_url=aws_endpoint),
        "bench-cold-bus",
    )
    env.update(
        EVENT_BUS_NAME=pipeline.bus_name,
        EVENT_BUS_ARN=pipeline.bus_arn,
        DEAD_LETTER_QUEUE_URL=pipeline.dlq_url,
    )
    store = ConnectionStore(dynamodb, table)
    for user in ("user-a", "user-b"):  # the sample batch's users, one connection each
        store.add(Connection(connection_id=f"cold-{user}", user_id=user))
    with JwksServer() as jwks, tempfile.TemporaryDirectory() as scratch:
        issuer = DevIssuer(jwks.issuer_url, client_id="bench-client")
        jwks.publish(issuer.jwks())
        env["TOKEN_ISSUER"] = jwks.issuer_url
        events = {}
        for name, sample in _SAMPLE_EVENTS.items():
            event = json.loads((EVENTS / sample).read_text())
            if name == "connect":
                event["queryStringParameters"] = {"token": issuer.mint("user-a")}
            events[name] = Path(scratch) / sample
            events[name].write_text(json.dumps(event))
        yield env, events
