"""The @connections calls sessions need besides posting: close a socket, ask whether one is open.

Statuses come from the response, not the exception class (a 410 without its
``x-amzn-ErrorType`` header is a plain ``ClientError``).
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_apigatewaymanagementapi import ApiGatewayManagementApiClient

__all__ = ["GONE", "MAX_PARALLEL_CLOSES", "close_socket", "close_sockets", "socket_is_open"]

GONE = 410
# Sockets closed at once; one user has at most a handful, the sweeper may have hundreds.
MAX_PARALLEL_CLOSES = 16


def close_socket(client: ApiGatewayManagementApiClient, connection_id: str) -> int | None:
    """``DeleteConnection``; the HTTP status (204 closed, 410 already gone), None without answer."""
    return _status(lambda: client.delete_connection(ConnectionId=connection_id))


def close_sockets(
    client: ApiGatewayManagementApiClient, connection_ids: Iterable[str]
) -> dict[str, int | None]:
    """Close every socket, concurrently; each one's status."""
    ids = list(dict.fromkeys(connection_ids))
    if not ids:
        return {}
    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL_CLOSES, len(ids))) as pool:
        statuses = list(pool.map(lambda cid: close_socket(client, cid), ids))
    return dict(zip(ids, statuses, strict=True))


def socket_is_open(client: ApiGatewayManagementApiClient, connection_id: str) -> bool:
    """``GetConnection``: False only when API Gateway says the connection is gone (410); any other
    answer, or none, counts as open (a check that fails must not free a slot)."""
    return _status(lambda: client.get_connection(ConnectionId=connection_id)) != GONE


def _status(call: Callable[[], Any]) -> int | None:
    try:
        response = call()
    except ClientError as exc:
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return int(status) if status is not None else None
    except BotoCoreError:
        return None
    return int(response["ResponseMetadata"]["HTTPStatusCode"])
