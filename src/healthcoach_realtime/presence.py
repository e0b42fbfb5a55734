"""Presence: a user's connections learn how many of that user's devices are online.

``$connect`` and ``$disconnect`` tell the user's *other* connections (API Gateway does not let
``$connect`` post to the connection it is still opening); the new connection asks with
``{"action": "presence"}`` once open. Best effort: a failed post loses one count, the next
change or ask corrects it. One GSI query plus one post per other connection.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from healthcoach_realtime.dispatch.deliver import post_status
from healthcoach_realtime.frames import encode_frame

if TYPE_CHECKING:
    from mypy_boto3_apigatewaymanagementapi import ApiGatewayManagementApiClient

    from healthcoach_realtime.connections import ConnectionStore

__all__ = ["announce_presence", "presence_frame"]


def presence_frame(connections: int) -> dict[str, Any]:
    """How many connections the user has open."""
    return {"type": "presence", "connections": connections}


def announce_presence(
    store: ConnectionStore,
    management: ApiGatewayManagementApiClient,
    user_id: str,
    *,
    exclude: Collection[str] = (),
) -> int:
    """Post the user's current count to each of their connections not in ``exclude``; the count."""
    connection_ids = store.connection_ids_of(user_id)
    frame = encode_frame(presence_frame(len(connection_ids)))
    for connection_id in connection_ids:
        if connection_id not in exclude:
            post_status(management, connection_id, frame)
    return len(connection_ids)
