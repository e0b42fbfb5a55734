"""The EventsV2 wire format: what botocore's serializer sends decodes, what we send botocore parses."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import botocore.parsers
import botocore.serialize
import cbor2
import pytest
from werkzeug.test import Client

from healthcoach_realtime.local.eventsv2 import exceptions
from healthcoach_realtime.local.eventsv2.exceptions import ResourceNotFoundError
from healthcoach_realtime.local.eventsv2.protocol import (
    EventsV2Middleware,
    caller_of,
    decode_request,
    encode_error,
    encode_response,
)
from healthcoach_realtime.local.eventsv2.service import EventsV2Service
from healthcoach_realtime.local.eventsv2.validation import service_model

BUS_ARN = "arn:aws:events:us-east-1:123456789012:event-busv2/bus/" + "a" * 25
WHEN = datetime(2025, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)


def _botocore_request(operation: str, params: dict[str, Any]) -> dict[str, Any]:
    serializer = botocore.serialize.create_serializer("smithy-rpc-v2-cbor")
    request: dict[str, Any] = serializer.serialize_to_request(
        params, service_model().operation_model(operation)
    )
    return request


def _botocore_parse(operation: str, status: int, body: bytes) -> dict[str, Any]:
    parser = botocore.parsers.create_parser("smithy-rpc-v2-cbor")
    shape = service_model().operation_model(operation).output_shape
    response = {"status_code": status, "headers": {"smithy-protocol": "rpc-v2-cbor"}, "body": body}
    parsed: dict[str, Any] = parser.parse(response, shape)
    return parsed


def test_a_botocore_put_events_request_decodes_to_its_parameters() -> None:
    """botocore's CBOR body (with a tag-1 Time) decodes to the parameters it was built from."""
    params = {
        "EventBusArn": BUS_ARN,
        "Entries": [{"Source": "healthcoach.x", "DetailType": "t", "Detail": "{}", "Time": WHEN}],
    }
    request = _botocore_request("PutEvents", params)

    decoded = decode_request(request["body"])

    assert request["url_path"] == "/service/AWSEventsV2/operation/PutEvents"
    assert decoded == params


def test_a_response_with_timestamps_parses_in_botocore() -> None:
    """A response structure encodes so botocore's parser returns the same values and instants."""
    body = encode_response({"EventBusArn": BUS_ARN, "Name": "bus", "State": "ACTIVE", "CreationTime": WHEN})

    parsed = _botocore_parse("DescribeEventBus", 200, body)

    assert parsed["EventBusArn"] == BUS_ARN
    assert parsed["State"] == "ACTIVE"
    assert parsed["CreationTime"] == WHEN


def test_an_error_body_carries_the_code_and_message_botocore_reads() -> None:
    """The error body names the modelled exception and the message, as botocore's parser reads them."""
    parsed = _botocore_parse("DescribeEventBus", 404, encode_error(ResourceNotFoundError("no such bus")))

    assert parsed["Error"] == {"Code": "ResourceNotFoundException", "Message": "no such bus"}


def test_an_empty_body_is_an_empty_request_and_garbage_is_refused() -> None:
    """No input is ``{}``; a body that is not a CBOR map is a SerializationException."""
    assert decode_request(b"") == {}
    with pytest.raises(Exception, match="CBOR map") as refused:
        decode_request(cbor2.dumps([1, 2]))
    assert getattr(refused.value, "code", None) == "SerializationException"


def test_the_caller_comes_from_the_credential_scope() -> None:
    """Region from ``Credential=key/date/region/...``; an unknown key maps to moto's default account."""
    headers = {"authorization": "AWS4-HMAC-SHA256 Credential=x/20250101/eu-west-1/events/aws4_request, Sig=1"}

    caller = caller_of(headers)

    assert (caller.account, caller.region) == ("123456789012", "eu-west-1")
    assert caller_of({**headers, "x-moto-account-id": "111122223333"}).account == "111122223333"


def _moto_stand_in(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"moto:" + environ["PATH_INFO"].encode()]


def test_the_middleware_routes_operations_to_the_service_and_the_rest_to_the_app() -> None:
    """EventsV2 operations get CBOR answers with the smithy header; other paths reach the wrapped app."""
    service = EventsV2Service()
    client = Client(EventsV2Middleware(service, _moto_stand_in))
    headers = {"smithy-protocol": "rpc-v2-cbor", "Content-Type": "application/cbor"}

    listed = client.post("/service/AWSEventsV2/operation/ListEventBuses", data=b"\xa0", headers=headers)
    missing = client.post(
        "/service/AWSEventsV2/operation/DescribeEventBus",
        data=cbor2.dumps({"EventBusArn": BUS_ARN}),
        headers=headers,
    )
    other = client.get("/some/moto/path")

    assert (listed.status_code, listed.headers["smithy-protocol"]) == (200, "rpc-v2-cbor")
    assert listed.headers["Content-Type"] == "application/cbor"
    assert cbor2.loads(listed.data) == {"EventBuses": []}
    assert missing.status_code == 404
    assert cbor2.loads(missing.data)["__type"].endswith("#ResourceNotFoundException")
    assert other.data == b"moto:/some/moto/path"


def test_an_unknown_operation_and_a_missing_protocol_header_are_refused() -> None:
    """A name the model lacks is 404 UnknownOperationException; no smithy-protocol header is 400."""
    client = Client(EventsV2Middleware(EventsV2Service(), _moto_stand_in))

    unknown = client.post(
        "/service/AWSEventsV2/operation/Nope", data=b"\xa0", headers={"smithy-protocol": "rpc-v2-cbor"}
    )
    bare = client.post("/service/AWSEventsV2/operation/ListEventBuses", data=b"\xa0")

    assert unknown.status_code == 404
    assert cbor2.loads(unknown.data)["__type"].endswith("#UnknownOperationException")
    assert bare.status_code == 400


@pytest.mark.parametrize(
    "error",
    [
        exceptions.InvalidInputError,
        exceptions.ResourceNotFoundError,
        exceptions.ResourceAlreadyExistsError,
        exceptions.ResourceInUseError,
        exceptions.InvalidStateError,
        exceptions.LimitExceededError,
        exceptions.InternalError,
    ],
)
def test_each_modelled_error_has_the_models_name_and_status(error: type[exceptions.ServiceError]) -> None:
    """Every modelled exception the emulator raises keeps the model's shape name and HTTP status."""
    shape = service_model().shape_for(error.code)

    assert shape.metadata["exception"] is True
    assert shape.metadata["error"]["httpStatusCode"] == error.status
