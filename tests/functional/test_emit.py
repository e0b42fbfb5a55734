"""emit()/emit_many() against moto's EventBridge -> rule -> SQS over HTTP.

moto never refuses single entries (FailedEntryCount is always 0), so the retry tests use
botocore's Stubber in place of EventBridge: it checks each request's exact entries and plays
the documented partial-failure responses, with no network at all.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from tests.support.sqs_events import receive_envelopes

from healthcoach_realtime import emit, emit_many
from healthcoach_realtime.emitter import EMIT_RETRY, DomainEvent, build_entry
from healthcoach_realtime.exceptions import EmitError, InvalidEventError
from healthcoach_realtime.local.provision import EventPipeline, create_event_pipeline
from healthcoach_realtime.resources import dispatch_shard_of
from healthcoach_realtime.settings import get_settings

REGION = "us-east-1"


@pytest.fixture
def pipeline(aws_env: str) -> EventPipeline:
    """A fresh bus with the dispatch rule targeting the dispatch queue (as infra/ deploys)."""
    events = boto3.client("events", endpoint_url=aws_env, region_name=REGION)
    sqs = boto3.client("sqs", endpoint_url=aws_env, region_name=REGION)
    return create_event_pipeline(events, sqs, f"bus-{uuid.uuid4().hex[:8]}")


@pytest.fixture
def events_client(aws_env: str) -> Any:
    return boto3.client("events", endpoint_url=aws_env, region_name=REGION)


@pytest.fixture
def put_calls(events_client: Any) -> list[int]:
    """The number of entries of every PutEvents call ``events_client`` makes."""
    calls: list[int] = []
    events_client.meta.events.register(
        "before-parameter-build.events.PutEvents", lambda params, **_: calls.append(len(params["Entries"]))
    )
    return calls


def delivered(aws_env: str, queue_url: str, user_id: str, count: int) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs", endpoint_url=aws_env, region_name=REGION)
    return receive_envelopes(sqs, queue_url, user_id, count)


def test_emitted_event_lands_in_the_queue_with_its_envelope(
    aws_env: str, pipeline: EventPipeline, events_client: Any
) -> None:
    """The dispatcher receives source, detail-type, {"userId", "data", "shard"} and emit()'s event
    id, in the user's message group of the FIFO queue."""
    user = f"user-{uuid.uuid4().hex[:8]}"
    data = {"id": "f1", "name": "Greek yogurt", "calories": 120, "proteinGrams": 10.5}
    event_id = emit(user, "foodLogCreated", data, client=events_client, bus_name=pipeline.bus_name)
    [envelope] = delivered(aws_env, pipeline.queue_url, user, 1)
    assert envelope["id"] == event_id
    assert envelope["source"] == "healthcoach.food-logs"
    assert envelope["detail-type"] == "foodLogCreated"
    assert envelope["detail"] == {"userId": user, "data": data, "shard": dispatch_shard_of(user)}


def test_a_stable_event_id_travels_in_the_detail_and_is_returned(
    aws_env: str, pipeline: EventPipeline, events_client: Any
) -> None:
    """emit(..., event_id=...) returns that id and puts it in detail.eventId for the dispatcher."""
    user = f"user-{uuid.uuid4().hex[:8]}"
    returned = emit(
        user,
        "foodLogDeleted",
        {"id": "f1"},
        client=events_client,
        bus_name=pipeline.bus_name,
        event_id="chg-1",
    )
    [envelope] = delivered(aws_env, pipeline.queue_url, user, 1)
    assert (returned, envelope["detail"]["eventId"]) == ("chg-1", "chg-1")


def test_an_empty_event_id_is_refused(events_client: Any, pipeline: EventPipeline) -> None:
    """The schema bounds eventId (1..128 characters): "" names the field."""
    with pytest.raises(InvalidEventError, match="eventId"):
        emit(
            "u1",
            "foodLogDeleted",
            {"id": "f1"},
            client=events_client,
            bus_name=pipeline.bus_name,
            event_id="",
        )


def test_emit_defaults_to_the_configured_bus(
    aws_env: str, pipeline: EventPipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no client or bus given, emit() uses EVENT_BUS_NAME and the cached client."""
    monkeypatch.setenv("EVENT_BUS_NAME", pipeline.bus_name)
    get_settings.cache_clear()
    user = f"user-{uuid.uuid4().hex[:8]}"
    event_id = emit(user, "healthProfileUpdated", {"weightKg": 70})
    [envelope] = delivered(aws_env, pipeline.queue_url, user, 1)
    assert envelope["id"] == event_id


def test_invalid_event_is_refused_naming_the_field(
    pipeline: EventPipeline, events_client: Any, put_calls: list[int]
) -> None:
    """A schema violation raises InvalidEventError naming the field; nothing is put."""
    with pytest.raises(InvalidEventError, match=r"detail\.data\.mealType") as info:
        emit("u1", "foodLogCreated", {"id": "f1", "mealType": "brunch"}, client=events_client, bus_name="b")
    assert info.value.field == "detail.data.mealType"
    assert put_calls == []


def test_more_than_ten_events_are_chunked(
    aws_env: str, pipeline: EventPipeline, events_client: Any, put_calls: list[int]
) -> None:
    """23 events take three PutEvents calls (10, 10, 3); all arrive; ids come back in order."""
    user = f"user-{uuid.uuid4().hex[:8]}"
    events = [DomainEvent(user, "foodLogDeleted", {"id": f"f{i}"}) for i in range(23)]
    ids = emit_many(events, client=events_client, bus_name=pipeline.bus_name)
    assert put_calls == [10, 10, 3]
    arrived = {e["detail"]["data"]["id"]: e["id"] for e in delivered(aws_env, pipeline.queue_url, user, 23)}
    assert [arrived[f"f{i}"] for i in range(23)] == ids


def test_one_invalid_event_in_a_batch_sends_nothing(events_client: Any, put_calls: list[int]) -> None:
    """Validation comes first: a bad event anywhere means no call, and the error says which."""
    events = [("u1", "foodLogDeleted", {"id": f"f{i}"}) for i in range(12)]
    events[7] = ("u1", "foodLogDeleted", {"id": "f7", "name": "not allowed on a deletion"})
    with pytest.raises(InvalidEventError) as info:
        emit_many(events, client=events_client, bus_name="b")
    assert "events[7]" in info.value.__notes__
    assert put_calls == []


# --- retries, with botocore's Stubber standing in for EventBridge (see the module docstring) ---


@pytest.fixture
def stubbed() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client(
        "events", region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def entries_for(count: int) -> tuple[list[DomainEvent], list[Any]]:
    events = [DomainEvent("u1", "foodLogDeleted", {"id": f"f{i}"}) for i in range(count)]
    return events, [build_entry(e, "bus") for e in events]


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
        {"Entries": entries},
    )
    stubber.add_response(
        "put_events", {"FailedEntryCount": 0, "Entries": [{"EventId": "id-1"}]}, {"Entries": [entries[1]]}
    )
    sleeps: list[float] = []
    ids = emit_many(events, client=client, bus_name="bus", sleep=sleeps.append)
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
        {"Entries": entries},
    )
    for _ in range(3):
        stubber.add_response(
            "put_events",
            {"FailedEntryCount": 1, "Entries": [refused("ThrottlingException")]},
            {"Entries": [entries[1]]},
        )
    sleeps: list[float] = []
    with pytest.raises(EmitError) as info:
        emit_many(events, client=client, bus_name="bus", sleep=sleeps.append)
    assert len(sleeps) == EMIT_RETRY.attempts - 1 == 3
    assert [f["index"] for f in info.value.failed] == ["1"]
    assert info.value.failed[0]["errorCode"] == "ThrottlingException"


def test_permanent_entry_error_is_not_retried(stubbed: tuple[Any, Stubber]) -> None:
    """AccessDenied is not retryable: one call, then EmitError; later chunks are not attempted."""
    client, stubber = stubbed
    events, entries = entries_for(12)
    response_entries = [{"EventId": f"id-{i}"} for i in range(10)]
    response_entries[4] = refused("AccessDeniedException")
    stubber.add_response(
        "put_events", {"FailedEntryCount": 1, "Entries": response_entries}, {"Entries": entries[:10]}
    )
    sleeps: list[float] = []
    with pytest.raises(EmitError) as info:
        emit_many(events, client=client, bus_name="bus", sleep=sleeps.append)
    assert sleeps == []
    assert [(f["index"], f["errorCode"]) for f in info.value.failed] == [
        ("4", "AccessDeniedException"),
        ("10", "NotAttempted"),
        ("11", "NotAttempted"),
    ]


def test_call_level_error_becomes_emit_error(stubbed: tuple[Any, Stubber]) -> None:
    """A refused call (e.g. an unknown bus) raises EmitError listing every unsent event."""
    client, stubber = stubbed
    events, _ = entries_for(2)
    stubber.add_client_error(
        "put_events", service_error_code="ResourceNotFoundException", http_status_code=400
    )
    with pytest.raises(EmitError) as info:
        emit_many(events, client=client, bus_name="bus", sleep=lambda _: None)
    assert [(f["index"], f["errorCode"]) for f in info.value.failed] == [
        ("0", "ResourceNotFoundException"),
        ("1", "ResourceNotFoundException"),
    ]
