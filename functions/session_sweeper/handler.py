"""Session sweeper: close every connection whose token has expired (EventBridge Scheduler, each minute).

Loaded by file path (the Lambda bundle root, or the local stack via importlib), so it imports
only the package. Each run makes ``SESSION_SWEEPS_PER_RUN`` passes spread evenly over the minute
(deployed: 2, so a session is closed within 30 s plus one Scan of its ``exp``; the local stack
sets 1 and invokes it on its own, shorter schedule). Its settings are its entry in
``manifest.py``, checked at cold start.
"""

from __future__ import annotations

import time
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit

from healthcoach_realtime.clients import dynamodb_client, management_api_client
from healthcoach_realtime.connections import ConnectionStore
from healthcoach_realtime.manifest import check_cold_start
from healthcoach_realtime.observability import MetricName, logger, metrics
from healthcoach_realtime.sessions.sweep import pass_offsets, sweep_once
from healthcoach_realtime.settings import get_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

check_cold_start("session_sweeper")

# A pass starts only with this much of the invocation left: a Scan of a large table takes seconds.
PASS_SECONDS = 15.0


@cache
def store() -> ConnectionStore:
    """The connections table through the process's cached DynamoDB client."""
    return ConnectionStore(dynamodb_client(), get_settings().connections_table)


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Sweep, pass after pass; returns how many sessions were closed."""
    started = time.monotonic()
    closed = passes = 0
    for offset in pass_offsets(get_settings().session_sweeps_per_run):
        wait = started + offset - time.monotonic()
        if context.get_remaining_time_in_millis() / 1000 < max(wait, 0.0) + PASS_SECONDS:
            break
        if wait > 0:
            time.sleep(wait)
        report = sweep_once(store(), management_api_client(), now=time.time())
        closed += report.closed
        passes += 1
        if report.expired:
            logger.info(
                "sessions swept",
                extra={"expired": report.expired, "closed": report.closed, "kept": report.kept},
            )
    metrics.add_metric(name=MetricName.SESSIONS_EXPIRED, unit=MetricUnit.Count, value=closed)
    return {"passes": passes, "closed": closed}
