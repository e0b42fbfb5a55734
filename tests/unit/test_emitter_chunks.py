"""emit()'s pure parts: entries as the bus wants them, sizes as AWS counts them, waves, chunking."""

from __future__ import annotations

import json
from typing import Any

import pytest

import healthcoach_realtime
from healthcoach_realtime import emitter
from healthcoach_realtime.emitter import (
    EMIT_RETRY,
    FRAME_HEADROOM_BYTES,
    MAX_ENTRIES_PER_CALL,
    MAX_REQUEST_BYTES,
    DomainEvent,
    build_entry,
    chunk_entries,
    entry_size,
    waves,
)
from healthcoach_realtime.exceptions import EventTooLargeError, InvalidEventError, UnknownEventTypeError
from healthcoach_realtime.frames import MAX_MESSAGE_BYTES, encode_frame, event_frame


def entry_of(detail_bytes: int) -> Any:
    """An entry whose Detail is exactly ``detail_bytes`` long (Source and DetailType: 10 bytes)."""
    return {"Source": "s" * 5, "DetailType": "d" * 5, "Detail": "x" * detail_bytes}


def grouped(*groups: str | None) -> list[Any]:
    """One small entry per group (None: an entry without a group)."""
    return [
        {**entry_of(2), **({"SystemMetadata": {"EventGroupId": g}} if g is not None else {})} for g in groups
    ]


def test_entry_carries_source_type_detail_and_the_users_group() -> None:
    """Source from the catalogue, DetailType = type, Detail = {"userId", "data"} JSON, and the
    user as the event group (the FIFO subscriber's order is per group)."""
    entry = build_entry(DomainEvent("u1", "foodLogCreated", {"id": "f1", "calories": 95}))
    assert entry["Source"] == "healthcoach.food-logs"
    assert entry["DetailType"] == "foodLogCreated"
    assert entry["SystemMetadata"] == {"EventGroupId": "u1"}
    assert json.loads(entry["Detail"]) == {"userId": "u1", "data": {"id": "f1", "calories": 95}}


def test_waves_never_put_two_entries_of_a_group_together() -> None:
    """a a b a c b -> [a b c] [a b] [a]: the k-th entry of each group in wave k, in input order."""
    assert waves(grouped("a", "a", "b", "a", "c", "b")) == [[0, 2, 4], [1, 5], [3]]


def test_entries_without_a_group_all_go_in_the_first_wave() -> None:
    """An ungrouped entry has no order to keep: nothing holds it back."""
    assert waves(grouped(None, "a", None, "a")) == [[0, 1, 2], [3]]


def test_invalid_event_names_field_and_rule() -> None:
    """A schema violation is refused, naming the field path and the rule."""
    with pytest.raises(InvalidEventError) as info:
        build_entry(DomainEvent("u1", "foodLogCreated", {"id": "f1", "calories": -1}))
    assert (info.value.field, info.value.rule) == ("detail.data.calories", "minimum")


def test_unknown_event_type_is_refused() -> None:
    """A type outside the catalogue never becomes an entry."""
    with pytest.raises(UnknownEventTypeError, match="pizzaOrdered"):
        build_entry(DomainEvent("u1", "pizzaOrdered", {"id": "p1"}))


def test_data_that_is_not_json_is_refused() -> None:
    """NaN is not JSON: refused with rule "json" instead of breaking the dispatcher later."""
    with pytest.raises(InvalidEventError) as info:
        build_entry(DomainEvent("u1", "foodLogCreated", {"id": "f1", "extra": float("nan")}))
    assert (info.value.field, info.value.rule) == ("detail.data", "json")


def padded_note(frame_budget: int) -> dict[str, Any]:
    """foodLogCreated data whose frame (without id/time) is exactly ``frame_budget`` bytes."""
    base = len(encode_frame(event_frame("foodLogCreated", {"id": "f1", "extra": ""}, "", "")))
    return {"id": "f1", "extra": "a" * (frame_budget - base)}


def test_frame_at_the_limit_with_headroom_is_accepted() -> None:
    """Data that leaves exactly the headroom for id/time/seq under 128 KB passes."""
    data = padded_note(MAX_MESSAGE_BYTES - FRAME_HEADROOM_BYTES)
    build_entry(DomainEvent("u1", "foodLogCreated", data))


def test_frame_one_byte_over_is_refused() -> None:
    """One byte more and the browser frame could exceed API Gateway's 128 KB message limit."""
    data = padded_note(MAX_MESSAGE_BYTES - FRAME_HEADROOM_BYTES + 1)
    with pytest.raises(EventTooLargeError) as info:
        build_entry(DomainEvent("u1", "foodLogCreated", data))
    assert info.value.field == "detail.data"


def test_frame_size_counts_utf8_bytes() -> None:
    """Non-ASCII text counts by its UTF-8 bytes (the frame is sent as UTF-8)."""
    budget = MAX_MESSAGE_BYTES - FRAME_HEADROOM_BYTES
    data = padded_note(budget)
    data["extra"] = "é" * (len(data["extra"]) // 2 + 1)  # 2 bytes each: just over the budget
    with pytest.raises(EventTooLargeError):
        build_entry(DomainEvent("u1", "foodLogCreated", data))


def test_entry_size_follows_aws_formula() -> None:
    """Source + DetailType + Detail + Resources in UTF-8 bytes, Time 14, and (to err on the safe
    side) the system metadata's ids."""
    entry: Any = {"Source": "héllo", "DetailType": "t", "Detail": "{}"}
    assert entry_size(entry) == 6 + 1 + 2
    entry.update(Time="2026-11-29T00:00:00Z", Resources=["arn:a", "ü"])
    assert entry_size(entry) == 6 + 1 + 2 + 14 + 5 + 2
    entry["SystemMetadata"] = {"EventGroupId": "u1", "DeduplicationId": "id-1"}
    assert entry_size(entry) == 6 + 1 + 2 + 14 + 5 + 2 + 2 + 4


def test_chunks_hold_at_most_a_hundred_entries() -> None:
    """250 small entries go in calls of 100, 100 and 50, in order."""
    chunks = chunk_entries([entry_of(10) for _ in range(250)])
    assert chunks == [list(range(100)), list(range(100, 200)), list(range(200, 250))]
    assert MAX_ENTRIES_PER_CALL == 100


def test_chunks_stay_within_1_mb() -> None:
    """Entries of 400 KB go two per call, never three."""
    entries = [entry_of(400 * 1024) for _ in range(5)]
    chunks = chunk_entries(entries)
    assert chunks == [[0, 1], [2, 3], [4]]
    assert all(sum(entry_size(entries[i]) for i in chunk) <= MAX_REQUEST_BYTES for chunk in chunks)


def test_chunk_only_the_given_indexes() -> None:
    """A wave's indexes are chunked in their order; the others are left out."""
    assert chunk_entries([entry_of(1) for _ in range(5)], [4, 1, 2]) == [[4, 1, 2]]


def test_chunk_filled_exactly_to_the_limit() -> None:
    """Entries summing to exactly 1 MB share a call; one byte more starts a new one."""
    half = MAX_REQUEST_BYTES // 2 - 10
    assert chunk_entries([entry_of(half), entry_of(half)]) == [[0, 1]]
    assert chunk_entries([entry_of(half), entry_of(half + 1)]) == [[0], [1]]


def test_oversized_entry_gets_a_call_of_its_own() -> None:
    """An entry over 1 MB is not merged with others (the bus refuses it alone)."""
    chunks = chunk_entries([entry_of(10), entry_of(MAX_REQUEST_BYTES), entry_of(10)])
    assert chunks == [[0], [1], [2]]


def test_no_entries_no_calls() -> None:
    """Nothing to send means no PutEvents call at all."""
    assert chunk_entries([]) == []


def test_emit_retries_stay_short() -> None:
    """Business code waits for emit(): all its backoff sleeps add up to under 3.5 s."""
    assert sum(EMIT_RETRY.delay(n, rng=lambda: 1.0) for n in range(1, EMIT_RETRY.attempts)) < 3.5


def test_package_root_exports_emit_lazily() -> None:
    """``from healthcoach_realtime import emit, emit_many`` reaches the emitter's functions."""
    assert healthcoach_realtime.emit is emitter.emit
    assert healthcoach_realtime.emit_many is emitter.emit_many
