"""SQS record -> EventBridge envelope -> validated event, or why it can never be delivered."""

from __future__ import annotations

import json
from typing import Any

from tests.support.sqs_events import envelope, load_sample, sqs_record

from healthcoach_realtime.dispatch.parse import DispatchEvent, InvalidRecord, parse_batch, parse_record
from healthcoach_realtime.frames import MAX_MESSAGE_BYTES, SEQ_BYTES


def test_sample_batch_parses_in_order() -> None:
    """The captured-shape sample yields its three events, in order, with ids and times."""
    parsed = parse_batch(load_sample())
    assert [type(p) for p in parsed] == [DispatchEvent] * 3
    events = [p for p in parsed if isinstance(p, DispatchEvent)]
    assert [(e.type, e.user_id) for e in events] == [
        ("foodLogCreated", "user-a"),
        ("healthMetricCreated", "user-a"),
        ("foodLogDeleted", "user-b"),
    ]
    assert events[0].message_id == "1b0c2a8e-5a6f-4d3e-9f7a-2f4c1e9b8d10"
    assert events[0].event_id == "6a7e8f0a-2c4d-4b1e-8f3a-9d2c5b7e1a01"
    assert events[0].time == "2026-11-29T07:30:01Z"


def test_frame_is_encoded_once_with_id_and_time() -> None:
    """The frame keeps the guide's {type, data} and adds the envelope's id and time."""
    event = parse_record(sqs_record(envelope("foodLogDeleted", "u1", {"id": "f1"}, id="e-1", time="T")))
    assert isinstance(event, DispatchEvent)
    assert json.loads(event.frame) == {
        "type": "foodLogDeleted",
        "data": {"id": "f1"},
        "id": "e-1",
        "time": "T",
    }


def reason_of(body: object) -> str:
    parsed = parse_record(sqs_record(body if isinstance(body, str) else json.dumps(body)))
    assert isinstance(parsed, InvalidRecord)
    return parsed.reason


def test_body_that_is_not_json_is_invalid() -> None:
    """A body that is not JSON is invalid, and kept as is for the dead-letter queue."""
    parsed = parse_record(sqs_record("{not json", message_id="m-1"))
    assert parsed == InvalidRecord("m-1", "body is not JSON", "{not json")


def test_body_that_is_not_an_object_is_invalid() -> None:
    """A JSON list is not an envelope."""
    assert "not a JSON object" in reason_of("[1, 2]")


def test_unknown_event_type_is_invalid() -> None:
    """A detail-type outside the catalogue is named in the reason."""
    body = envelope("foodLogCreated", "u1", {"id": "f1"}, **{"detail-type": "pizzaOrdered"})
    assert reason_of(body) == "unknown event type 'pizzaOrdered'"


def test_source_must_match_the_type() -> None:
    """A health-profile event claiming to come from food logs is refused."""
    body = envelope("healthProfileUpdated", "u1", {}, source="healthcoach.food-logs")
    assert "does not match healthProfileUpdated" in reason_of(body)


def test_missing_user_id_is_invalid() -> None:
    """Without userId an event cannot be routed to anyone."""
    body = envelope("foodLogCreated", "u1", {"id": "f1"})
    del body["detail"]["userId"]
    assert "userId" in reason_of(body)


def test_schema_failure_names_field_and_rule_not_the_value() -> None:
    """The reason names the field and rule, never the (health) value itself."""
    reason = reason_of(envelope("healthMetricCreated", "u1", {"id": "m1", "value": -73.25}))
    assert "detail.data.value" in reason
    assert "-73.25" not in reason


def test_missing_event_id_is_invalid() -> None:
    """The frame's id (used by browsers to drop duplicates) must come from the envelope."""
    body = envelope("foodLogDeleted", "u1", {"id": "f1"})
    del body["id"]
    assert reason_of(body) == "envelope has no 'id'"


def test_frame_over_the_message_limit_is_invalid() -> None:
    """An event that slipped past emit() with a >128 KB frame is refused, not posted for a 413."""
    body = envelope(
        "foodLogCreated", "u1", {"id": "f1", "notes": "n" * 1000, "extra": "x" * MAX_MESSAGE_BYTES}
    )
    assert "exceeds" in reason_of(body)


def frame_of_size(size: int) -> dict[str, Any]:
    """An envelope whose frame (before its seq) is exactly ``size`` bytes."""
    body = envelope("foodLogCreated", "u1", {"id": "f1", "extra": ""})
    parsed = parse_record(sqs_record(json.dumps(body)))
    assert isinstance(parsed, DispatchEvent)
    body["detail"]["data"]["extra"] = "x" * (size - len(parsed.frame))
    return body


def test_frame_too_close_to_the_limit_for_its_seq_is_invalid() -> None:
    """A frame that fits only without its seq would get a 413 once stamped: refused at parse."""
    assert "exceeds" in reason_of(frame_of_size(MAX_MESSAGE_BYTES - 5))
    fits = parse_record(sqs_record(json.dumps(frame_of_size(MAX_MESSAGE_BYTES - SEQ_BYTES))))
    assert isinstance(fits, DispatchEvent)
    assert len(fits.frame) == MAX_MESSAGE_BYTES - SEQ_BYTES
    assert len(fits.frame) + len(f',"seq":{2**64 - 1}') <= MAX_MESSAGE_BYTES


def test_record_without_body_is_invalid() -> None:
    """A record with no body at all is invalid rather than a crash."""
    assert parse_record({"messageId": "m-2"}) == InvalidRecord("m-2", "record has no body")
