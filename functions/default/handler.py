"""``$default``: ``ping`` -> ``pong``, ``resume`` -> the missed events (or ``resync``), else ``error``.

Loaded by file path (the Lambda bundle root, or the local stack via importlib), so it imports
only the package. Answers are posted to the caller through @connections (identically in AWS and
locally; no route response). Environment: ``CONNECTIONS_TABLE``, ``HISTORY_TABLE``,
``WS_API_ENDPOINT``.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.logging import correlation_paths

from healthcoach_realtime.clients import dynamodb_client, management_api_client
from healthcoach_realtime.connections import ConnectionStore
from healthcoach_realtime.default_route import answer_message
from healthcoach_realtime.history.store import HistoryStore
from healthcoach_realtime.observability import logger
from healthcoach_realtime.settings import get_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@cache
def connections() -> ConnectionStore:
    """The connections table through the process's cached DynamoDB client."""
    return ConnectionStore(dynamodb_client(), get_settings().connections_table)


@cache
def history() -> HistoryStore:
    """The replay log (read only here)."""
    return HistoryStore(dynamodb_client(), get_settings().history_table)


# The body carries no token, but a replay carries health data: never log the event.
@logger.inject_lambda_context(log_event=False, correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Answer one message; 200 whatever the answer (API Gateway ignores it without a route response)."""
    sent = answer_message(
        event, connections=connections(), history=history(), management=management_api_client()
    )
    logger.info("message answered", extra={"frames_sent": sent})
    return {"statusCode": 200}
