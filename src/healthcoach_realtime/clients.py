"""Cached boto3 clients: built once per process, so warm invocations reuse their connections.

Core classes take a client as a parameter; only handlers call these factories. boto3 honours
``AWS_ENDPOINT_URL`` itself, which is how the local stack points everything at its emulator.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

import boto3
import botocore
from botocore.config import Config
from botocore.exceptions import UnknownServiceError

from healthcoach_realtime.exceptions import ConfigurationError
from healthcoach_realtime.settings import get_settings

if TYPE_CHECKING:
    from mypy_boto3_apigatewaymanagementapi import ApiGatewayManagementApiClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_eventbridgev2 import EventBridgeV2Client
    from mypy_boto3_sqs import SQSClient

__all__ = [
    "MANAGEMENT_CALL_SECONDS",
    "dynamodb_client",
    "eventbridge_client",
    "management_api_client",
    "sqs_client",
]

_MANAGEMENT_CONNECT_SECONDS = 2
_MANAGEMENT_READ_SECONDS = 5
# The longest one PostToConnection can take (the dispatcher starts none that could outlast it).
MANAGEMENT_CALL_SECONDS = float(_MANAGEMENT_CONNECT_SECONDS + _MANAGEMENT_READ_SECONDS)
# Pool large enough for the dispatcher's concurrent posts; retries are ours, not botocore's,
# so that a 429/5xx is counted and decided on (retry, or report the record as failed).
_MANAGEMENT_CONFIG = Config(
    max_pool_connections=32,
    retries={"total_max_attempts": 1, "mode": "standard"},
    connect_timeout=_MANAGEMENT_CONNECT_SECONDS,
    read_timeout=_MANAGEMENT_READ_SECONDS,
)
_DEFAULT_CONFIG = Config(retries={"max_attempts": 3, "mode": "standard"}, max_pool_connections=16)


@cache
def dynamodb_client() -> DynamoDBClient:
    """The low-level DynamoDB client (no resource layer: it costs cold-start time)."""
    return boto3.client("dynamodb", region_name=get_settings().aws_region, config=_DEFAULT_CONFIG)


@cache
def eventbridge_client() -> EventBridgeV2Client:
    """The Custom Event Bus (EventsV2) client ``emit`` and the stream bridge publish with.

    Raises ``ConfigurationError`` when the installed botocore predates ``eventbridgev2`` (an old
    boto3 on the path, e.g. a Lambda runtime's own, instead of the bundled one).
    """
    try:
        return boto3.client("eventbridgev2", region_name=get_settings().aws_region, config=_DEFAULT_CONFIG)
    except UnknownServiceError:
        raise ConfigurationError(
            f"botocore {botocore.__version__} has no eventbridgev2 client: boto3 >= 1.43.102 is required"
        ) from None


@cache
def sqs_client() -> SQSClient:
    """The SQS client that dead-letters records which can never be delivered."""
    return boto3.client("sqs", region_name=get_settings().aws_region, config=_DEFAULT_CONFIG)


@cache
def management_api_client(endpoint_url: str | None = None) -> ApiGatewayManagementApiClient:
    """The @connections client for ``WS_API_ENDPOINT`` (``https://<api>.execute-api.../<stage>``)."""
    settings = get_settings()
    url = endpoint_url or settings.ws_api_endpoint
    if not url:
        settings.require("ws_api_endpoint")
    return boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=url,
        region_name=settings.aws_region,
        config=_MANAGEMENT_CONFIG,
    )
