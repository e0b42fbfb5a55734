"""DynamoDB stream records (Lambda's shape) -> domain events, or why they cannot be one."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from healthcoach_realtime.emitter import DomainEvent
from healthcoach_realtime.stream_bridge import (
    InvalidStreamRecord,
    event_from_record,
    plain_image,
    table_name_of,
)

SAMPLE = Path(__file__).resolve().parents[1] / "events" / "dynamodb_stream_batch.json"


def sample(position: int) -> dict[str, Any]:
    """Record ``position`` of the sample: food log INSERT, MODIFY, REMOVE; profile INSERT, REMOVE."""
    return copy.deepcopy(json.loads(SAMPLE.read_text())["Records"][position])


def test_table_name_comes_from_the_stream_arn() -> None:
    """The table is the segment after ``table/`` in eventSourceARN."""
    assert table_name_of(sample(0)) == "healthcoach_food_logs"
    assert table_name_of({"eventSourceARN": "arn:aws:sqs:us-east-1:1:queue"}) == ""


def test_insert_becomes_created_without_the_user_attribute() -> None:
    """INSERT -> <record>Created; userId leaves data for the event's userId; numbers are plain."""
    event = event_from_record(sample(0))
    assert event == DomainEvent(
        "user-a",
        "foodLogCreated",
        {
            "id": "f1",
            "name": "Greek yogurt",
            "mealType": "breakfast",
            "calories": 120,
            "proteinGrams": 10.5,
            "loggedAt": "2026-11-29T07:30:00Z",
        },
        event_id=f"stream-{sample(0)['eventID']}",
    )


def test_the_event_id_is_the_stream_records_so_a_retried_batch_repeats_it() -> None:
    """Mapping the same record twice gives the same id; another record, another id."""
    first, again, other = (
        event_from_record(sample(0)),
        event_from_record(sample(0)),
        event_from_record(sample(1)),
    )
    events = [e for e in (first, again, other) if isinstance(e, DomainEvent)]
    assert len(events) == 3
    assert (first.event_id == again.event_id, first.event_id == other.event_id) == (True, False)


def test_modify_becomes_updated_with_the_new_image() -> None:
    """MODIFY -> <record>Updated carrying the new values."""
    event = event_from_record(sample(1))
    assert isinstance(event, DomainEvent)
    assert event.type == "foodLogUpdated"
    assert event.data["calories"] == 150


def test_remove_becomes_deleted_with_only_the_id() -> None:
    """REMOVE -> <record>Deleted with {"id"}: the catalogue's *Deleted shape."""
    removed = sample(2)
    expected = DomainEvent("user-a", "foodLogDeleted", {"id": "f1"}, event_id=f"stream-{removed['eventID']}")
    assert event_from_record(removed) == expected


def test_profile_insert_becomes_profile_updated() -> None:
    """The profile table (one item per user) only ever says healthProfileUpdated."""
    event = event_from_record(sample(3))
    assert isinstance(event, DomainEvent)
    assert (event.user_id, event.type) == ("user-a", "healthProfileUpdated")
    assert event.data["goals"] == {"dailyCalories": 2000, "weeklyExerciseMinutes": 150}
    assert "userId" not in event.data


def test_profile_remove_sends_nothing() -> None:
    """The catalogue has no profile deletion: a removed profile is ignored (documented)."""
    assert event_from_record(sample(4)) is None


def test_unknown_table_is_invalid() -> None:
    """A stream of a table outside DATA_TABLES cannot be mapped: invalid, with the table named."""
    record = sample(0)
    record["eventSourceARN"] = record["eventSourceARN"].replace("healthcoach_food_logs", "orders")
    assert event_from_record(record) == InvalidStreamRecord("record of unknown table 'orders'")


def test_keys_only_stream_is_invalid() -> None:
    """Without NewImage (a KEYS_ONLY stream) there is no data to send."""
    record = sample(0)
    del record["dynamodb"]["NewImage"]
    mapped = event_from_record(record)
    assert isinstance(mapped, InvalidStreamRecord)
    assert "NewImage" in mapped.reason


def test_item_without_user_is_invalid() -> None:
    """An item whose user attribute is missing cannot be routed."""
    record = sample(0)
    del record["dynamodb"]["NewImage"]["userId"]
    mapped = event_from_record(record)
    assert isinstance(mapped, InvalidStreamRecord)
    assert "userId" in mapped.reason


def test_images_become_plain_json_values() -> None:
    """Decimal -> int/float, sets -> sorted lists, binary stays base64 text, nesting kept."""
    image = {
        "n": {"N": "3"},
        "f": {"N": "2.5"},
        "big": {"N": "1E+3"},
        "ns": {"NS": ["3", "1.5"]},
        "ss": {"SS": ["b", "a"]},
        "b": {"B": "eHl6"},
        "l": {"L": [{"N": "1"}, {"NULL": True}, {"BOOL": False}]},
        "m": {"M": {"x": {"N": "0.25"}}},
    }
    assert plain_image(image) == {
        "n": 3,
        "f": 2.5,
        "big": 1000,
        "ns": [1.5, 3],
        "ss": ["a", "b"],
        "b": "eHl6",
        "l": [1, None, False],
        "m": {"x": 0.25},
    }
    assert json.loads(json.dumps(plain_image(image))) == plain_image(image)
