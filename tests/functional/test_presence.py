"""announce_presence against moto's DynamoDB over HTTP and the loopback @connections fake."""

from __future__ import annotations

import json
from typing import Any

import boto3
from tests.support.management_api import ManagementApiFake

from healthcoach_realtime.connections import Connection, ConnectionStore
from healthcoach_realtime.presence import announce_presence


def test_siblings_get_the_count_and_the_excluded_connection_nothing(
    dynamodb: Any, connections_table: str, api: ManagementApiFake
) -> None:
    """Three connections of u1 (one opening), one of u2: the two siblings get 3; nobody else anything."""
    store = ConnectionStore(dynamodb, connections_table)
    for connection_id, user in (("a=", "u1"), ("b=", "u1"), ("new=", "u1"), ("x=", "u2")):
        store.add(Connection(connection_id=connection_id, user_id=user))
    management = boto3.client("apigatewaymanagementapi", endpoint_url=api.endpoint, region_name="us-east-1")
    assert announce_presence(store, management, "u1", exclude=("new=",)) == 3
    received = {c: [json.loads(b) for b in api.frames(c)] for c in ("a=", "b=", "new=", "x=")}
    assert received == {
        "a=": [{"type": "presence", "connections": 3}],
        "b=": [{"type": "presence", "connections": 3}],
        "new=": [],
        "x=": [],
    }
