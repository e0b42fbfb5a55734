"""bench.calls: counting AWS calls from botocore's ``before-call`` hook, and request units. Pure."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from bench.calls import CallCounter, request_units


def _client(service: str) -> Any:
    session = boto3.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1")
    return session.client(service, endpoint_url="http://127.0.0.1:9")  # type: ignore[call-overload]


def _fire(client: Any, operation: str, api_params: dict[str, Any]) -> None:
    """What botocore emits before each API call (the serialized request as ``params``)."""
    model = client.meta.service_model.operation_model(operation)
    service_id = client.meta.service_model.service_id.hyphenize()
    client.meta.events.emit(
        f"before-call.{service_id}.{operation}", model=model, params={"body": json.dumps(api_params).encode()}
    )


def test_calls_of_an_attached_client_are_counted_by_operation() -> None:
    """Two Query calls and one DeleteItem are counted under their service and operation."""
    counter = CallCounter()
    dynamodb = counter.attach(_client("dynamodb"))
    for operation in ("Query", "Query", "DeleteItem"):
        _fire(dynamodb, operation, {})
    assert counter.snapshot() == {"dynamodb.Query": 2, "dynamodb.DeleteItem": 1}


def test_a_client_not_attached_is_not_counted() -> None:
    """Only clients given to ``attach`` are counted."""
    counter = CallCounter()
    counter.attach(_client("dynamodb"))
    _fire(_client("dynamodb"), "Query", {})
    assert counter.snapshot() == {}


def test_post_to_connection_is_counted_without_units() -> None:
    """@connections calls are counted; they cost no DynamoDB units."""
    counter = CallCounter()
    management = counter.attach(_client("apigatewaymanagementapi"))
    management.meta.events.emit(
        "before-call.apigatewaymanagementapi.PostToConnection",
        model=management.meta.service_model.operation_model("PostToConnection"),
        params={"body": b"frame"},
    )
    assert counter.count("apigatewaymanagementapi.PostToConnection") == 1
    assert counter.units() == {"read": 0.0, "write": 0.0}


def test_reset_starts_from_zero() -> None:
    """After ``reset`` neither calls nor units remain."""
    counter = CallCounter()
    dynamodb = counter.attach(_client("dynamodb"))
    _fire(dynamodb, "PutItem", {})
    counter.reset()
    assert (counter.snapshot(), counter.units()) == ({}, {"read": 0.0, "write": 0.0})


@pytest.mark.parametrize(
    ("operation", "params", "units"),
    [
        ("Query", {}, (0.5, 0.0)),
        ("GetItem", {"ConsistentRead": True}, (1.0, 0.0)),
        ("BatchGetItem", {"RequestItems": {"t": {"Keys": [{}, {}, {}], "ConsistentRead": True}}}, (3.0, 0.0)),
        ("BatchGetItem", {"RequestItems": {"t": {"Keys": [{}, {}]}}}, (1.0, 0.0)),
        ("PutItem", {}, (0.0, 1.0)),
        ("BatchWriteItem", {"RequestItems": {"a": [{}, {}], "b": [{}]}}, (0.0, 3.0)),
        ("DescribeTable", {}, (0.0, 0.0)),
    ],
)
def test_request_units(operation: str, params: dict[str, Any], units: tuple[float, float]) -> None:
    """Reads are half a unit (a whole one when consistent), writes one; batches count items."""
    assert request_units(operation, params) == units


def test_a_put_into_a_local_index_is_billed_twice() -> None:
    """An item carrying the local index's sort key is written to the index too; one without is not."""
    assert request_units("PutItem", {"Item": {"seq": {"N": "1"}}}, local_index_key="seq") == (0.0, 2.0)
    assert request_units("PutItem", {"Item": {"lastSeq": {"N": "1"}}}, local_index_key="seq") == (0.0, 1.0)
