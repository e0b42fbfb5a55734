"""emit()/emit_many() against the emulator's Custom Event Bus -> FIFO subscriber -> SQS over HTTP.

The emulator refuses single entries only for what is malformed, so the retry tests use
botocore's Stubber in place of the bus: it checks each request's exact entries and plays the
documented partial-failure responses, with no network at all.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from tests.support.sqs_events import receive_envelopes, receive_messages

from healthcoach_realtime import emit, emit_many
from healthcoach_realtime.emitter import EMIT_RETRY, DomainEvent, build_entry
from healthcoach_realtime.exceptions import ConfigurationError, EmitError, InvalidEventError
from healthcoach_realtime.local.provision import EventPipeline, create_event_pipeline
from healthcoach_realtime.settings import get_settings

REGION = "us-east-1"
STUB_BUS = "arn:aws:events:us-east-1:123456789012:event-busv2/bus/abcdefghijklmnopqrstuvwxy"


@pytest.fixture
def pipeline(aws_env: str) -> EventPipeline:
    """A fresh bus with the dispatch subscriber feeding the dispatch queue (as infra/ deploys)."""
    bus = boto3.client("eventbridgev2", endpoint_url=aws_env, region_name=REGION)
    sqs = boto3.client("sqs", endpoint_url=aws_env, region_name=REGION)
    return create_event_pipeline(bus, sqs, f"bus-{uuid.uuid4().hex[:8]}")


@pytest.fixture
def bus_client(aws_env: str) -> Any:
    return boto3.client("eventbridgev2", endpoint_url=aws_env, region_name=REGION)


@pytest.fixture
def put_calls(bus_client: Any) -> list[int]:
    """The number of entries of every PutEvents call ``bus_client`` makes."""
    calls: list[int] = []
    bus_client.meta.events.register(
        "before-parameter-build.eventbridgev2.PutEvents",
        lambda params, **_: calls.append(len(params["Entries"])),
    )
    return calls


def delivered(aws_env: str, queue_url: str, user_id: str, count: int) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs", endpoint_url=aws_env, region_name=REGION)
    return receive_envelopes(sqs, queue_url, user_id, count)


def test_emitted_event_lands_in_the_users_message_group_with_its_envelope(
    aws_env: str, pipeline: EventPipeline, bus_client: Any
) -> None:
    """The dispatcher receives source, detail-type, {"userId", "data"} and emit()'s event id, in
    the message group of the user (the entry's EventGroupId)."""
    user = f"user-{uuid.uuid4().hex[:8]}"
    data = {"id": "f1", "name": "Greek yogurt", "calories": 120, "proteinGrams": 10.5}
    event_id = emit(user, "foodLogCreated", data, client=bus_client, bus_arn=pipeline.bus_arn)
    sqs = boto3.client("sqs", endpoint_url=aws_env, region_name=REGION)
    [message] = receive_messages(sqs, pipeline.queue_url, user, 1)
    envelope = json.loads(message["Body"])
    assert envelope["id"] == event_id
    assert envelope["source"] == "healthcoach.food-logs"
    assert envelope["detail-type"] == "foodLogCreated"
    assert envelope["detail"] == {"userId": user, "data": data}
    assert message["Attributes"]["MessageGroupId"] == user


def test_build_entry_groups_by_user_and_deduplicates_by_the_stable_id() -> None:
    """EventGroupId is the user; DeduplicationId is the producer's event id, only when given."""
    plain = build_entry(DomainEvent("u1", "foodLogDeleted", {"id": "f1"}))
    stable = build_entry(DomainEvent("u1", "foodLogDeleted", {"id": "f1"}, "chg-7"))
    assert plain["SystemMetadata"] == {"EventGroupId": "u1"}
    assert stable["SystemMetadata"] == {"EventGroupId": "u1", "DeduplicationId": "chg-7"}


def test_a_stable_event_id_travels_in_the_detail_and_is_returned(
    aws_env: str, pipeline: EventPipeline, bus_client: Any
) -> None:
    """emit(..., event_id=...) returns that id and puts it in detail.eventId for the dispatcher."""
    user = f"user-{uuid.uuid4().hex[:8]}"
    returned = emit(
        user, "foodLogDeleted", {"id": "f1"}, client=bus_client, bus_arn=pipeline.bus_arn, event_id="chg-1"
    )
    [envelope] = delivered(aws_env, pipeline.queue_url, user, 1)
    assert (returned, envelope["detail"]["eventId"]) == ("chg-1", "chg-1")


def test_the_same_change_emitted_twice_is_delivered_once(
    aws_env: str, pipeline: EventPipeline, bus_client: Any
) -> None:
    """The bus answers DEDUPLICATED to the repeat (success for emit) and delivers nothing more."""
    user = f"user-{uuid.uuid4().hex[:8]}"
    for _ in range(2):
        emit(user, "foodLogDeleted", {"id": "f1"}, client=bus_client, bus_arn=pipeline.bus_arn, event_id="c1")
    emit(user, "foodLogDeleted", {"id": "f2"}, client=bus_client, bus_arn=pipeline.bus_arn)
    arrived = delivered(aws_env, pipeline.queue_url, user, 2)
    assert [e["detail"]["data"]["id"] for e in arrived] == ["f1", "f2"]


def test_an_empty_event_id_is_refused(bus_client: Any, pipeline: EventPipeline) -> None:
    """The schema bounds eventId (1..128 characters): "" names the field."""
    with pytest.raises(InvalidEventError, match="eventId"):
        emit("u1", "foodLogDeleted", {"id": "f1"}, client=bus_client, bus_arn=pipeline.bus_arn, event_id="")


def test_emit_defaults_to_the_bus_named_in_the_environment(
    aws_env: str, pipeline: EventPipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no client or bus given, emit() finds EVENT_BUS_NAME's ARN with ListEventBuses."""
    monkeypatch.setenv("EVENT_BUS_NAME", pipeline.bus_name)
    get_settings.cache_clear()
    user = f"user-{uuid.uuid4().hex[:8]}"
    event_id = emit(user, "healthProfileUpdated", {"weightKg": 70})
    [envelope] = delivered(aws_env, pipeline.queue_url, user, 1)
    assert envelope["id"] == event_id


def test_emit_prefers_the_bus_arn_in_the_environment(
    aws_env: str, pipeline: EventPipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    """EVENT_BUS_ARN wins over EVENT_BUS_NAME (no lookup, the name may even be wrong)."""
    monkeypatch.setenv("EVENT_BUS_ARN", pipeline.bus_arn)
    monkeypatch.setenv("EVENT_BUS_NAME", "no-such-bus")
    get_settings.cache_clear()
    user = f"user-{uuid.uuid4().hex[:8]}"
    emit(user, "healthProfileUpdated", {"weightKg": 71})
    assert delivered(aws_env, pipeline.queue_url, user, 1)[0]["detail"]["data"] == {"weightKg": 71}


def test_an_unknown_bus_name_is_a_configuration_error(bus_client: Any) -> None:
    """A bus that does not exist is named in the error, which says how to configure the ARN."""
    with pytest.raises(ConfigurationError, match=r"no-such-bus.*EVENT_BUS_ARN"):
        emit("u1", "foodLogDeleted", {"id": "f1"}, client=bus_client, bus_name="no-such-bus")


def test_invalid_event_is_refused_naming_the_field(
    pipeline: EventPipeline, bus_client: Any, put_calls: list[int]
) -> None:
    """A schema violation raises InvalidEventError naming the field; nothing is put."""
    with pytest.raises(InvalidEventError, match=r"detail\.data\.mealType") as info:
        emit("u1", "foodLogCreated", {"id": "f1", "mealType": "brunch"}, client=bus_client, bus_arn=STUB_BUS)
    assert info.value.field == "detail.data.mealType"
    assert put_calls == []


def test_a_users_events_go_out_one_per_call_and_arrive_in_order(
    aws_env: str, pipeline: EventPipeline, bus_client: Any, put_calls: list[int]
) -> None:
    """Three users' events (5, 3, 1) take five calls of 3, 2, 2, 1, 1 entries: never two of one
    user in a call (a refused one re-sent would land behind its successor); each user's arrive
    in order and the ids come back in input order."""
    users = [f"user-{uuid.uuid4().hex[:8]}" for _ in range(3)]
    events = [DomainEvent(users[0], "foodLogDeleted", {"id": f"a{i}"}) for i in range(5)]
    events[1:1] = [DomainEvent(users[1], "foodLogDeleted", {"id": f"b{i}"}) for i in range(3)]
    events.append(DomainEvent(users[2], "foodLogDeleted", {"id": "c0"}))
    ids = emit_many(events, client=bus_client, bus_arn=pipeline.bus_arn)
    assert put_calls == [3, 2, 2, 1, 1]
    sqs = boto3.client("sqs", endpoint_url=aws_env, region_name=REGION)
    by_user: dict[str, list[dict[str, Any]]] = {user: [] for user in users}
    deadline = time.monotonic() + 10
    while sum(map(len, by_user.values())) < len(events) and time.monotonic() < deadline:
        for message in sqs.receive_message(
            QueueUrl=pipeline.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
        ).get("Messages", []):
            sqs.delete_message(QueueUrl=pipeline.queue_url, ReceiptHandle=message["ReceiptHandle"])
            envelope = json.loads(message["Body"])
            if envelope["detail"]["userId"] in by_user:
                by_user[envelope["detail"]["userId"]].append(envelope)
    for user, prefix, count in ((users[0], "a", 5), (users[1], "b", 3), (users[2], "c", 1)):
        arrived = by_user[user]
        assert [e["detail"]["data"]["id"] for e in arrived] == [f"{prefix}{i}" for i in range(count)]
        expected = [i for e, i in zip(events, ids, strict=True) if e.user_id == user]
        assert [e["id"] for e in arrived] == expected


def test_many_users_share_calls_of_up_to_a_hundred(
    pipeline: EventPipeline, bus_client: Any, put_calls: list[int]
) -> None:
    """230 users' single events take three calls (100, 100, 30)."""
    events = [DomainEvent(f"user-{n}", "foodLogDeleted", {"id": "f"}) for n in range(230)]
    assert len(emit_many(events, client=bus_client, bus_arn=pipeline.bus_arn)) == 230
    assert put_calls == [100, 100, 30]


def test_one_invalid_event_in_a_batch_sends_nothing(bus_client: Any, put_calls: list[int]) -> None:
    """Validation comes first: a bad event anywhere means no call, and the error says which."""
    events = [("u1", "foodLogDeleted", {"id": f"f{i}"}) for i in range(12)]
    events[7] = ("u1", "foodLogDeleted", {"id": "f7", "name": "not allowed on a deletion"})
    with pytest.raises(InvalidEventError) as info:
        emit_many(events, client=bus_client, bus_arn=STUB_BUS)
    assert "events[7]" in info.value.__notes__
    assert put_calls == []


# --- retries, with botocore's Stubber standing in for EventBridge (see the module docstring) ---


@pytest.fixture
def stubbed() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client(
        "eventbridgev2", region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def entries_for(count: int) -> tuple[list[DomainEvent], list[Any]]:
    """One event each for ``count`` users (so they share calls)."""
    events = [DomainEvent(f"u{i}", "foodLogDeleted", {"id": f"f{i}"}) for i in range(count)]
    return events, [build_entry(e) for e in events]


def refused(code: str) -> dict[str, str]:
    return {"ErrorCode": code, "ErrorMessage": f"{code} (stubbed)"}


def test_only_refused_entries_are_sent_again(stubbed: tuple[Any, Stubber]) -> None:
    """After a partial failure, the retry carries only the refused entry; ids keep input order."""
    client, stubber = stubbed
    events, entries = entries_for(3)
    stubber.add_response(
        "put_events",
        {
            "FailedEntryCount": 1,
            "Entries": [{"EventId": "id-0"}, refused("InternalFailure"), {"EventId": "id-2"}],
        },
        {"EventBusArn": STUB_BUS, "Entries": entries},
    )
    stubber.add_response(
        "put_events",
        {"FailedEntryCount": 0, "Entries": [{"EventId": "id-1"}]},
        {"EventBusArn": STUB_BUS, "Entries": [entries[1]]},
    )
    sleeps: list[float] = []
    ids = emit_many(events, client=client, bus_arn=STUB_BUS, sleep=sleeps.append)
    assert ids == ["id-0", "id-1", "id-2"]
    assert len(sleeps) == 1
    assert 0 <= sleeps[0] <= 0.1


def test_retries_are_bounded_then_emit_error_lists_the_failures(stubbed: tuple[Any, Stubber]) -> None:
    """A throttled entry is tried `attempts` times with growing backoff, then EmitError names it."""
    client, stubber = stubbed
    events, entries = entries_for(2)
    stubber.add_response(
        "put_events",
        {"FailedEntryCount": 1, "Entries": [{"EventId": "id-0"}, refused("ThrottlingException")]},
        {"EventBusArn": STUB_BUS, "Entries": entries},
    )
    for _ in range(3):
        stubber.add_response(
            "put_events",
            {"FailedEntryCount": 1, "Entries": [refused("ThrottlingException")]},
            {"EventBusArn": STUB_BUS, "Entries": [entries[1]]},
        )
    sleeps: list[float] = []
    with pytest.raises(EmitError) as info:
        emit_many(events, client=client, bus_arn=STUB_BUS, sleep=sleeps.append)
    assert len(sleeps) == EMIT_RETRY.attempts - 1 == 3
    assert [f["index"] for f in info.value.failed] == ["1"]
    assert info.value.failed[0]["errorCode"] == "ThrottlingException"


def test_permanent_entry_error_is_not_retried(stubbed: tuple[Any, Stubber]) -> None:
    """AccessDenied is not retryable: one call, then EmitError; later chunks are not attempted."""
    client, stubber = stubbed
    events, entries = entries_for(102)
    response_entries = [{"EventId": f"id-{i}"} for i in range(100)]
    response_entries[4] = refused("AccessDeniedException")
    stubber.add_response(
        "put_events",
        {"FailedEntryCount": 1, "Entries": response_entries},
        {"EventBusArn": STUB_BUS, "Entries": entries[:100]},
    )
    sleeps: list[float] = []
    with pytest.raises(EmitError) as info:
        emit_many(events, client=client, bus_arn=STUB_BUS, sleep=sleeps.append)
    assert sleeps == []
    assert [(f["index"], f["errorCode"]) for f in info.value.failed] == [
        ("4", "AccessDeniedException"),
        ("100", "NotAttempted"),
        ("101", "NotAttempted"),
    ]


def test_call_level_error_becomes_emit_error(stubbed: tuple[Any, Stubber]) -> None:
    """A refused call (e.g. an unknown bus) raises EmitError listing every unsent event."""
    client, stubber = stubbed
    events, _ = entries_for(2)
    stubber.add_client_error(
        "put_events", service_error_code="ResourceNotFoundException", http_status_code=400
    )
    with pytest.raises(EmitError) as info:
        emit_many(events, client=client, bus_arn=STUB_BUS, sleep=lambda _: None)
    assert [(f["index"], f["errorCode"]) for f in info.value.failed] == [
        ("0", "ResourceNotFoundException"),
        ("1", "ResourceNotFoundException"),
    ]
