"""PutEvents in the EventsV2 service: per-entry checks, the 1 MB refusal, sequence and dedup."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from healthcoach_realtime.local.eventsv2.events import entry_size
from healthcoach_realtime.local.eventsv2.exceptions import InvalidInputError, ResourceNotFoundError
from healthcoach_realtime.local.eventsv2.service import Caller, EventsV2Service

CALLER = Caller(account="123456789012", region="us-east-1")


class Clock:
    """A clock tests move by hand."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    """The service's injected clock."""
    return Clock()


@pytest.fixture
def service(clock: Clock) -> Any:
    """A service with no subscribers (nothing is delivered, no thread starts)."""
    created = EventsV2Service(clock=clock)
    yield created
    created.close()


@pytest.fixture
def bus(service: EventsV2Service) -> str:
    """A fresh bus's ARN."""
    arn: str = service.call("CreateEventBus", {"Name": "bus"}, CALLER)["EventBusArn"]
    return arn


def _entry(user: str = "alice", **extra: Any) -> dict[str, Any]:
    return {
        "Source": "healthcoach.food-logs",
        "DetailType": "foodLogCreated",
        "Detail": json.dumps({"userId": user}),
        **extra,
    }


def _put(service: EventsV2Service, bus: str, *entries: dict[str, Any], **request: Any) -> dict[str, Any]:
    return service.call("PutEvents", {"EventBusArn": bus, "Entries": list(entries), **request}, CALLER)


def test_each_malformed_entry_gets_its_own_error_and_the_rest_are_published(service: Any, bus: str) -> None:
    """Reserved source, non-object Detail, missing DetailType, too long a Source: four errors, one event."""
    answer = _put(
        service,
        bus,
        _entry(Source="aws.health"),
        _entry(Detail="[1, 2]"),
        {"Source": "healthcoach.x", "Detail": "{}"},
        _entry(Source="s" * 257),
        _entry(),
    )

    codes = [entry.get("ErrorCode") for entry in answer["Entries"]]
    assert codes == ["InvalidInput", "MalformedDetail", "InvalidInput", "InvalidInput", None]
    assert "reserved" in answer["Entries"][0]["ErrorMessage"]
    assert "DetailType" in answer["Entries"][2]["ErrorMessage"]
    assert "256" in answer["Entries"][3]["ErrorMessage"]
    assert answer["FailedEntryCount"] == 4
    assert answer["Entries"][4]["SuccessCode"] == "PUBLISHED"
    assert [event.event_id for event in service.published(bus)] == [answer["Entries"][4]["EventId"]]


def test_published_entries_get_ids_and_increasing_sequence_numbers(service: Any, bus: str) -> None:
    """Each entry gets a distinct EventId and a sequence number that grows with ingestion order."""
    first = _put(service, bus, _entry("a"), _entry("b"))["Entries"]
    second = _put(service, bus, _entry("c"))["Entries"]

    numbers = [int(entry["SequenceNumber"]) for entry in first + second]
    assert numbers == sorted(numbers)
    assert len(set(numbers)) == 3
    assert len({entry["EventId"] for entry in first + second}) == 3


def test_the_envelope_uses_the_entry_time_when_given(service: Any, bus: str) -> None:
    """``time`` is the entry's Time when set, and the detail is parsed."""
    when = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)

    _put(service, bus, _entry(Time=when, Resources=["arn:x"]))

    data = service.published(bus)[0].data
    assert data["time"] == "2025-06-01T12:00:00Z"
    assert data["resources"] == ["arn:x"]
    assert data["detail"] == {"userId": "alice"}


def test_a_request_over_one_megabyte_is_refused_whole(service: Any, bus: str) -> None:
    """Entries totalling more than 1,048,576 bytes: InvalidInputException, nothing published."""
    detail = json.dumps({"userId": "alice", "pad": "x" * 200_000})
    entries = [_entry(Detail=detail) for _ in range(6)]

    with pytest.raises(InvalidInputError, match="1 MB"):
        _put(service, bus, *entries)
    assert service.published(bus) == []


def test_exactly_one_megabyte_is_accepted(service: Any, bus: str) -> None:
    """The limit is inclusive: a request of exactly 1,048,576 bytes is published."""
    base = _entry(Detail="{}")
    pad = 1_048_576 - entry_size(base) - len('{"p": ""}') + 2
    entry = _entry(Detail=json.dumps({"p": "x" * pad}))
    assert entry_size(entry) == 1_048_576

    answer = _put(service, bus, entry)

    assert answer["FailedEntryCount"] == 0


def test_entry_size_counts_source_detail_type_detail_resources_and_time() -> None:
    """EventBridge's entry size: UTF-8 lengths, plus 14 when Time is set."""
    entry = {"Source": "ab", "DetailType": "é", "Detail": "{}", "Resources": ["r1", "r22"]}

    assert entry_size(entry) == 2 + 2 + 2 + 2 + 3
    assert entry_size({**entry, "Time": datetime.now(UTC)}) == 11 + 14


def test_a_repeated_deduplication_id_within_five_minutes_is_deduplicated(
    service: Any, bus: str, clock: Clock
) -> None:
    """Same group and DeduplicationId within 300 s: DEDUPLICATED with the first EventId, kept once."""
    meta = {"SystemMetadata": {"EventGroupId": "alice", "DeduplicationId": "log-1"}}
    first = _put(service, bus, _entry(**meta))["Entries"][0]
    clock.now += 299

    again = _put(service, bus, _entry(**meta))["Entries"][0]

    assert again["SuccessCode"] == "DEDUPLICATED"
    assert (again["EventId"], again["SequenceNumber"]) == (first["EventId"], first["SequenceNumber"])
    assert len(service.published(bus)) == 1


def test_after_the_window_the_same_id_is_published_again(service: Any, bus: str, clock: Clock) -> None:
    """300 s later the key is forgotten: a new event."""
    meta = {"SystemMetadata": {"EventGroupId": "alice", "DeduplicationId": "log-1"}}
    first = _put(service, bus, _entry(**meta))["Entries"][0]
    clock.now += 300

    later = _put(service, bus, _entry(**meta))["Entries"][0]

    assert later["SuccessCode"] == "PUBLISHED"
    assert later["EventId"] != first["EventId"]


def test_deduplication_is_scoped_to_the_event_group(service: Any, bus: str) -> None:
    """The same DeduplicationId in another group, or with no group, is a different event."""
    answers = _put(
        service,
        bus,
        _entry(SystemMetadata={"EventGroupId": "alice", "DeduplicationId": "same"}),
        _entry(SystemMetadata={"EventGroupId": "bob", "DeduplicationId": "same"}),
        _entry(SystemMetadata={"DeduplicationId": "same"}),
        _entry(SystemMetadata={"DeduplicationId": "same"}),
    )["Entries"]

    assert [a["SuccessCode"] for a in answers] == ["PUBLISHED", "PUBLISHED", "PUBLISHED", "DEDUPLICATED"]


def test_content_based_deduplication_keys_entries_by_content(service: Any, bus: str) -> None:
    """With CONTENT_BASED, identical entries deduplicate and different ones do not."""
    content_based = {"DeduplicationConfiguration": {"DeduplicationType": "CONTENT_BASED"}}

    answers = _put(service, bus, _entry("a"), _entry("a"), _entry("b"), **content_based)["Entries"]

    assert [a["SuccessCode"] for a in answers] == ["PUBLISHED", "DEDUPLICATED", "PUBLISHED"]


def test_without_an_id_or_content_based_nothing_is_deduplicated(service: Any, bus: str) -> None:
    """Identical entries with no DeduplicationId are distinct events."""
    answers = _put(service, bus, _entry("a"), _entry("a"))["Entries"]

    assert [a["SuccessCode"] for a in answers] == ["PUBLISHED", "PUBLISHED"]


def test_request_level_problems_refuse_the_whole_request(service: Any, bus: str) -> None:
    """101 entries or an unknown bus: an exception, not per-entry errors."""
    with pytest.raises(InvalidInputError, match="less than or equal to 100"):
        _put(service, bus, *[_entry() for _ in range(101)])
    with pytest.raises(ResourceNotFoundError):
        _put(service, bus[:-1] + ("b" if bus[-1] != "b" else "c"), _entry())
