"""The EventsV2 API of the embedded emulator, driven by boto3's real ``eventbridgev2`` client."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from tests.support.eventsv2 import (
    EVENT_ID,
    GROUP_OR_USER,
    ROLE,
    client_fixture,
    queue,
    running_emulator,
)
from tests.support.network import free_port

from healthcoach_realtime.local.emulator import Emulator
from healthcoach_realtime.local.eventsv2 import EventsV2Options


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    """A real emulator (moto + EventsV2) on a free loopback port."""
    with running_emulator(EventsV2Options(retry_base_seconds=0.01, retry_max_seconds=0.05)) as started:
        yield started


events = client_fixture("eventbridgev2")
sqs = client_fixture("sqs")


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_a_bus_and_a_fifo_subscriber_deliver_to_an_sqs_fifo_queue(
    emulator: Emulator, events: Any, sqs: Any
) -> None:
    """Create, find by prefix, list, describe, publish: the queue gets the envelope, grouped and keyed."""
    name = _unique("healthcoach-realtime")
    queue_url, queue_arn = queue(sqs)
    bus = events.create_event_bus(Name=name, StorageConfiguration={"RetentionPeriodInDays": 7})
    sqs_parameters = {"MessageGroupId": GROUP_OR_USER, "MessageDeduplicationId": EVENT_ID}
    subscriber = events.create_subscriber(
        Name="dispatch",
        EventBusArn=bus["EventBusArn"],
        Type="FIFO",
        InvokeConfiguration={"RoleArn": ROLE, "TargetArn": queue_arn, "SqsParameters": sqs_parameters},
    )

    found = events.list_event_buses(NamePrefix=name)["EventBuses"]
    listed = events.list_subscribers(EventBusArn=bus["EventBusArn"])["Subscribers"]
    described_bus = events.describe_event_bus(EventBusArn=bus["EventBusArn"])
    described = events.describe_subscriber(SubscriberArn=subscriber["SubscriberArn"])
    put = events.put_events(
        EventBusArn=bus["EventBusArn"],
        Entries=[
            {
                "Source": "healthcoach.food-logs",
                "DetailType": "foodLogCreated",
                "Detail": json.dumps({"userId": "alice", "data": {"id": "f1"}}),
                "SystemMetadata": {"EventGroupId": "alice"},
            }
        ],
    )
    assert emulator.eventsv2.wait_idle(10)
    message = sqs.receive_message(QueueUrl=queue_url, AttributeNames=["All"])["Messages"][0]

    assert [b["EventBusArn"] for b in found] == [bus["EventBusArn"]]
    assert [(s["Name"], s["Type"], s["TargetArn"]) for s in listed] == [("dispatch", "FIFO", queue_arn)]
    assert described_bus["StorageConfiguration"]["RetentionPeriodInDays"] == 7
    assert described_bus["State"] == "ACTIVE"
    assert described["InvokeConfiguration"]["SqsParameters"] == sqs_parameters
    assert put["FailedEntryCount"] == 0
    event_id = put["Entries"][0]["EventId"]
    body = json.loads(message["Body"])
    assert (body["id"], body["source"], body["detail"]["userId"]) == (
        event_id,
        "healthcoach.food-logs",
        "alice",
    )
    assert message["Attributes"]["MessageGroupId"] == "alice"
    assert message["Attributes"]["MessageDeduplicationId"] == event_id


def test_service_errors_surface_as_the_clients_modelled_exceptions(events: Any) -> None:
    """A taken name, an unknown ARN and a bad retry policy raise their boto3 exceptions and statuses."""
    bus = events.create_event_bus(Name=_unique("taken"))
    missing = bus["EventBusArn"][:-25] + "z" * 25

    with pytest.raises(events.exceptions.ResourceAlreadyExistsException) as taken:
        events.create_event_bus(Name=bus["Name"])
    with pytest.raises(events.exceptions.ResourceNotFoundException):
        events.describe_event_bus(EventBusArn=missing)
    with pytest.raises(events.exceptions.InvalidInputException, match="less than or equal to 185"):
        events.create_subscriber(
            Name="s",
            EventBusArn=bus["EventBusArn"],
            InvokeConfiguration={"RoleArn": ROLE, "TargetArn": "arn:aws:sqs:us-east-1:123456789012:q"},
            RetryPolicy={"MaxRetryAttempts": 186},
        )
    assert taken.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409


def test_a_request_over_one_megabyte_raises_invalid_input(events: Any) -> None:
    """PutEvents over 1 MB in all is refused whole with InvalidInputException."""
    bus = events.create_event_bus(Name=_unique("big"))["EventBusArn"]
    detail = json.dumps({"userId": "alice", "pad": "x" * 300_000})
    entries = [{"Source": "healthcoach.x", "DetailType": "t", "Detail": detail} for _ in range(4)]

    with pytest.raises(events.exceptions.InvalidInputException, match="1 MB"):
        events.put_events(EventBusArn=bus, Entries=entries)


def test_an_operation_that_is_not_emulated_is_an_error_not_a_silent_success(events: Any) -> None:
    """ListTagsForResource exists in the model but is not emulated: a ClientError NotImplemented."""
    bus = events.create_event_bus(Name=_unique("tags"))["EventBusArn"]

    with pytest.raises(ClientError) as refused:
        events.list_tags_for_resource(ResourceArn=bus)

    assert refused.value.response["Error"]["Code"] == "NotImplemented"


def test_moto_still_answers_everything_else_on_the_same_port(sqs: Any) -> None:
    """The EventsV2 middleware leaves other services' requests to moto."""
    url, arn = queue(sqs)

    assert arn.endswith(url.rsplit("/", 1)[-1])


IN_PROCESS = textwrap.dedent(
    """
    import json, sys
    import boto3
    from healthcoach_realtime.local.emulator import MemoizedDispatcher
    from healthcoach_realtime.local.eventsv2 import EventsV2Middleware, EventsV2Service
    from healthcoach_realtime.local.in_process import route_to_app, skip_signing

    endpoint = sys.argv[1]
    service = EventsV2Service()
    skip_signing("local")
    route_to_app(EventsV2Middleware(service, MemoizedDispatcher()), endpoint)
    kwargs = dict(endpoint_url=endpoint, region_name="us-east-1")
    events, sqs = boto3.client("eventbridgev2", **kwargs), boto3.client("sqs", **kwargs)
    url = sqs.create_queue(QueueName="q.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    bus = events.create_event_bus(Name="bus")["EventBusArn"]
    events.create_subscriber(
        Name="s", EventBusArn=bus, Type="FIFO",
        InvokeConfiguration={
            "RoleArn": "arn:aws:iam::123456789012:role/r",
            "TargetArn": "arn:aws:sqs:us-east-1:123456789012:q.fifo",
            "SqsParameters": {"MessageGroupId": "g", "MessageDeduplicationId": "{% $events.Data.id %}"},
        },
    )
    found = events.list_event_buses(NamePrefix="bu")["EventBuses"][0]["EventBusArn"] == bus
    put = events.put_events(EventBusArn=bus, Entries=[{"Source": "s", "DetailType": "t", "Detail": "{}"}])
    assert service.wait_idle(10)
    body = json.loads(sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"])
    try:
        events.describe_event_bus(EventBusArn=bus[:-1] + ("x" if bus[-1] != "x" else "y"))
        error = None
    except events.exceptions.ResourceNotFoundException as exc:
        error = exc.response["Error"]["Code"]
    delivered = body["id"] == put["Entries"][0]["EventId"]
    print(json.dumps({"found": found, "delivered": delivered, "error": error}))
    service.close()
    """
)


def test_the_stacks_in_process_routing_reaches_eventsv2_and_its_deliveries() -> None:
    """Through ``route_to_app`` (no server on the port), EventsV2 answers and delivers to moto's SQS."""
    endpoint = f"http://127.0.0.1:{free_port()}"
    done = subprocess.run(
        [sys.executable, "-c", IN_PROCESS, endpoint], capture_output=True, text=True, timeout=120, check=False
    )

    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {
        "found": True,
        "delivered": True,
        "error": "ResourceNotFoundException",
    }
