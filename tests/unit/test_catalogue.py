"""The event catalogue agrees with schemas/ and explains what is wrong with a bad event."""

from __future__ import annotations

import json

import pytest

from healthcoach_realtime.catalogue import (
    EVENT_TYPES,
    SOURCES,
    load_schema,
    schema_dir,
    source_for,
    validate_detail,
)
from healthcoach_realtime.exceptions import InvalidEventError, UnknownEventTypeError


def test_event_type_literal_matches_schema_files() -> None:
    """EventType lists exactly the files in schemas/."""
    files = {p.stem for p in schema_dir().glob("*.json")}
    assert files == set(EVENT_TYPES)


def test_every_schema_is_draft04_and_describes_the_detail() -> None:
    """Each schema is draft-04 (registrable as JSONSchemaDraft4) and requires userId and data."""
    for event_type in EVENT_TYPES:
        schema = load_schema(event_type)
        assert schema["$schema"] == "http://json-schema.org/draft-04/schema#"
        assert schema["title"] == event_type
        assert set(schema["required"]) == {"userId", "data"}


def test_deleted_events_carry_only_an_id() -> None:
    """*Deleted events carry {"id": ...} and nothing else."""
    for event_type in (t for t in EVENT_TYPES if t.endswith("Deleted")):
        validate_detail(event_type, {"userId": "u1", "data": {"id": "x"}})
        with pytest.raises(InvalidEventError):
            validate_detail(event_type, {"userId": "u1", "data": {"id": "x", "name": "extra"}})


def test_every_event_type_has_a_source() -> None:
    """Each type maps to one healthcoach.<domain> source."""
    assert source_for("foodLogCreated") == "healthcoach.food-logs"
    assert source_for("healthProfileUpdated") == "healthcoach.health-profile"
    assert {source_for(t) for t in EVENT_TYPES} == set(SOURCES.values())


def test_unknown_event_type_is_refused() -> None:
    """A type outside the catalogue is refused, naming it."""
    with pytest.raises(UnknownEventTypeError, match="pizzaOrdered"):
        validate_detail("pizzaOrdered", {"userId": "u1", "data": {}})


def test_error_names_the_field_and_rule() -> None:
    """A range violation names the field path and the schema rule."""
    with pytest.raises(InvalidEventError) as info:
        validate_detail("foodLogCreated", {"userId": "u1", "data": {"id": "f1", "calories": -5}})
    assert info.value.field == "detail.data.calories"
    assert info.value.rule == "minimum"
    assert "detail.data.calories" in str(info.value)


def test_missing_user_id_is_refused() -> None:
    """An event without userId cannot be routed, so it is invalid."""
    with pytest.raises(InvalidEventError, match="userId"):
        validate_detail("foodLogCreated", {"data": {"id": "f1"}})


def test_realistic_food_log_is_valid() -> None:
    """A complete, realistic food log passes."""
    validate_detail(
        "foodLogCreated",
        {
            "userId": "u1",
            "data": {
                "id": "f1",
                "name": "Greek yogurt",
                "mealType": "breakfast",
                "loggedAt": "2026-11-29T08:15:00Z",
                "quantity": 170,
                "unit": "g",
                "calories": 100,
                "proteinGrams": 17,
            },
        },
    )


def test_schema_files_are_valid_json_objects() -> None:
    """Every file parses as a JSON object (the Schema Registry takes the file as is)."""
    for path in schema_dir().glob("*.json"):
        assert isinstance(json.loads(path.read_text()), dict)
