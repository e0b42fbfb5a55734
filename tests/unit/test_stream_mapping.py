"""DynamoDB stream records (Lambda's shape) -> domain events, or why they cannot be one."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from healthcoach_realtime.emitter import DomainEvent
from healthcoach_realtime.resources import DataTable
from healthcoach_realtime.stream_bridge import (
    BridgedRecord,
    InvalidStreamRecord,
    bridge_record,
    plain_image,
    schema_names,
    table_name_of,
)

SAMPLE = Path(__file__).resolve().parents[1] / "events" / "dynamodb_stream_batch.json"


def sample(position: int) -> dict[str, Any]:
    """Record ``position`` of the sample: food log INSERT, MODIFY, REMOVE; profile INSERT, REMOVE."""
    return copy.deepcopy(json.loads(SAMPLE.read_text())["Records"][position])


def event_from_record(record: dict[str, Any]) -> DomainEvent | InvalidStreamRecord | None:
    """The event ``bridge_record`` makes of ``record`` (what reaches the bus), or why none."""
    bridged = bridge_record(record)
    return bridged.event if isinstance(bridged, BridgedRecord) else bridged


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
    assert (events[0].event_id == events[1].event_id, events[0].event_id == events[2].event_id) == (
        True,
        False,
    )


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


# An existing app's table: its own name, keys and attribute names, and attributes of its own.
APP_FOOD = DataTable(
    name="FoodEntries-prod",
    record="foodLog",
    user_attribute="ownerSub",
    id_attribute="entryId",
    renames=(("kcal", "calories"), ("title", "name")),
)
APP_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/FoodEntries-prod/stream/2026-11-29T07:00:00.000"


def app_record(event_name: str, **images: dict[str, Any]) -> dict[str, Any]:
    """A stream record of APP_FOOD (keys ``pk``/``sk``: the user and entry are plain attributes)."""
    keys = {"pk": {"S": "OWNER#user-a"}, "sk": {"S": "FOOD#e1"}}
    return {
        "eventID": "app-1",
        "eventName": event_name,
        "eventSourceARN": APP_ARN,
        "dynamodb": {"Keys": keys, "SequenceNumber": "1", **images},
    }


APP_ITEM = {
    "pk": {"S": "OWNER#user-a"},
    "sk": {"S": "FOOD#e1"},
    "ownerSub": {"S": "user-a"},
    "entryId": {"S": "e1"},
    "title": {"S": "Porridge"},
    "kcal": {"N": "310"},
    "mealType": {"S": "breakfast"},
    "auditUser": {"S": "ops@example.com"},
    "isFlagged": {"BOOL": False},
    "id": {"S": "legacy-9"},
}


def test_an_apps_item_reaches_the_bus_under_the_schemas_names_only() -> None:
    """User and id attributes, renames, then the schema: keys, audit fields, flags and another
    system's ``id`` are left out and counted."""
    bridged = bridge_record(app_record("INSERT", NewImage=APP_ITEM), [APP_FOOD])
    assert bridged == BridgedRecord(
        DomainEvent(
            "user-a",
            "foodLogCreated",
            {"id": "e1", "name": "Porridge", "calories": 310, "mealType": "breakfast"},
            event_id="stream-app-1",
        ),
        dropped=5,
    )


def test_a_removal_takes_user_and_id_from_the_old_image() -> None:
    """When the user and id are not the table's keys, the old image still has them."""
    bridged = bridge_record(app_record("REMOVE", OldImage=APP_ITEM), [APP_FOOD])
    assert isinstance(bridged, BridgedRecord)
    assert bridged.event == DomainEvent("user-a", "foodLogDeleted", {"id": "e1"}, event_id="stream-app-1")


def test_a_ttl_expiry_is_a_deletion_like_any_other() -> None:
    """DynamoDB's own TTL removal (userIdentity dynamodb.amazonaws.com) -> foodLogDeleted."""
    record = sample(2)
    record["userIdentity"] = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    event = event_from_record(record)
    assert isinstance(event, DomainEvent)
    assert (event.type, event.data) == ("foodLogDeleted", {"id": "f1"})


def test_our_tables_lose_undeclared_attributes_too() -> None:
    """The default mapping projects as well: an internal attribute never reaches the event."""
    record = sample(0)
    record["dynamodb"]["NewImage"]["reviewedBy"] = {"S": "staff-7"}
    bridged = bridge_record(record)
    assert isinstance(bridged, BridgedRecord)
    assert "reviewedBy" not in bridged.event.data
    assert bridged.dropped == 1


def test_schema_names_rename_and_reserve_the_targets() -> None:
    """A renamed attribute takes its target's name; a same-named plain attribute is left out."""
    item = {"entryId": "e1", "kcal": 5, "calories": 9, "notes": "n"}
    assert schema_names(item, APP_FOOD) == ({"id": "e1", "calories": 5, "notes": "n"}, 1)
