"""``$disconnect``: forget the connection (best effort, as API Gateway's own delivery of it).

Loaded by file path (the Lambda bundle root, or the local stack via importlib), so it imports
only the package; no token verification, so none of its cold-start cost.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

from healthcoach_realtime.clients import dynamodb_client, management_api_client
from healthcoach_realtime.connection_lifecycle import close_connection
from healthcoach_realtime.connections import ConnectionStore
from healthcoach_realtime.history.store import HistoryStore, young_connections
from healthcoach_realtime.manifest import check_cold_start
from healthcoach_realtime.observability import MetricName, logger, metrics
from healthcoach_realtime.presence import announce_presence
from healthcoach_realtime.settings import get_settings
from healthcoach_realtime.websocket_events import failed

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

check_cold_start("disconnect")


@cache
def store() -> ConnectionStore:
    """The connections table through the process's cached DynamoDB client."""
    return ConnectionStore(dynamodb_client(), get_settings().connections_table)


@cache
def recent() -> HistoryStore:
    """The user's seq counter, whose note of this connection goes with it."""
    return HistoryStore(dynamodb_client(), get_settings().history_table)


@logger.inject_lambda_context(log_event=False, correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Answer API Gateway's ``$disconnect`` route."""
    try:
        outcome = close_connection(event, store(), recent=recent())
    except Exception:
        logger.exception("disconnect failed")
        metrics.add_metric(name=MetricName.HANDLER_FAILURES, unit=MetricUnit.Count, value=1)
        return failed()
    metrics.add_metric(name=MetricName.CONNECTIONS_CLOSED, unit=MetricUnit.Count, value=1)
    logger.info(
        "connection closed",
        extra={
            "connection_id": outcome.request.connection_id,
            "status_code": outcome.request.status_code,
            "reason": outcome.request.reason,
        },
    )
    if outcome.connection is not None:
        joined = young_connections(outcome.noted, time.time())
        tell_siblings(outcome.connection.user_id, outcome.request.connection_id, joined, context)
    return outcome.response


def tell_siblings(user_id: str, departed: str, joined: Collection[str], context: LambdaContext) -> None:
    """Presence to the user's remaining connections, at once and within the invocation's time
    (best effort)."""

    def seconds_left() -> float:
        return context.get_remaining_time_in_millis() / 1000

    try:
        announce_presence(
            store(),
            management_api_client(),
            user_id,
            joined=joined,
            left=(departed,),
            remaining=seconds_left,
        )
    except Exception:
        logger.exception("presence not announced", extra={"user_id": user_id})
