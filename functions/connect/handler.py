"""``$connect``: verify the caller's Cognito token, bound the user's connections, record the
connection with the token's ``exp`` (200, 401, 429 or 500).

Nothing is posted here: the handshake's time is the verification and one write. The user's
other connections learn of this one when it asks ``{"action": "presence"}`` once open (see
``presence``).

Loaded by file path (the Lambda bundle root, or the local stack via importlib), so it imports
only the package. The verifier (with its JWKS cache) and the store live as long as the process.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

from healthcoach_realtime.auth.verifier import TokenVerifier
from healthcoach_realtime.clients import dynamodb_client, management_api_client
from healthcoach_realtime.connection_lifecycle import open_connection
from healthcoach_realtime.connections import ConnectionStore
from healthcoach_realtime.history.store import HistoryStore
from healthcoach_realtime.manifest import check_cold_start
from healthcoach_realtime.observability import MetricName, logger, metrics
from healthcoach_realtime.sessions.connection_cap import ConnectionCap
from healthcoach_realtime.sessions.sockets import socket_is_open
from healthcoach_realtime.settings import get_settings
from healthcoach_realtime.websocket_events import failed

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

check_cold_start("connect")


@cache
def verifier() -> TokenVerifier:
    """Built on first use from the environment, then reused by every warm invocation."""
    return TokenVerifier.from_settings(get_settings())


@cache
def cap() -> ConnectionCap:
    """``MAX_CONNECTIONS_PER_USER`` (default 10)."""
    return ConnectionCap(get_settings().max_connections_per_user)


def is_open(connection_id: str) -> bool:
    """Asked of API Gateway only for a user at the limit (``GetConnection``)."""
    return socket_is_open(management_api_client(), connection_id)


@cache
def store() -> ConnectionStore:
    """The connections table through the process's cached DynamoDB client."""
    return ConnectionStore(dynamodb_client(), get_settings().connections_table)


@cache
def recent() -> HistoryStore:
    """The user's seq counter, where a new connection is noted (read strongly consistent by the
    dispatcher and the cap, which the connections index may not show it to yet)."""
    return HistoryStore(dynamodb_client(), get_settings().history_table)


# log_event=False wins over POWERTOOLS_LOGGER_LOG_EVENT: this event carries the token.
@logger.inject_lambda_context(log_event=False, correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Answer API Gateway's ``$connect`` route."""
    try:
        outcome = open_connection(
            event,
            verifier(),
            store(),
            now=datetime.now(UTC),
            cap=cap(),
            is_open=is_open,
            recent=recent(),
        )
    except Exception:
        logger.exception("connect failed")
        metrics.add_metric(name=MetricName.HANDLER_FAILURES, unit=MetricUnit.Count, value=1)
        return failed()
    if outcome.connection is None:
        refused_by_cap = outcome.response["statusCode"] == 429
        name = MetricName.CONNECTIONS_REFUSED if refused_by_cap else MetricName.AUTH_FAILURES
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
        logger.warning(
            "connection refused", extra={"connection_id": outcome.connection_id, "reason": outcome.refusal}
        )
    else:
        metrics.add_metric(name=MetricName.CONNECTIONS_OPENED, unit=MetricUnit.Count, value=1)
        logger.info(
            "connection opened",
            extra={"connection_id": outcome.connection_id, "user_id": outcome.connection.user_id},
        )
    return outcome.response
