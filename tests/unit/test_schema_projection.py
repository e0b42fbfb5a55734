"""Projection onto a schema: only declared properties survive, at every depth, and are counted."""

from __future__ import annotations

from healthcoach_realtime.schema_projection import project, project_data


def test_undeclared_attributes_are_left_out_and_counted() -> None:
    """An app's own attributes do not reach the event; the count says how many were left out."""
    data = {"id": "f1", "calories": 95, "internalFlag": True, "ownerEmail": "a@example.com"}
    assert project_data("foodLogCreated", data) == ({"id": "f1", "calories": 95}, 2)


def test_nested_objects_are_projected_too() -> None:
    """The profile's goals keep only their declared members."""
    data = {"weightKg": 70, "goals": {"dailyCalories": 2000, "coachNote": "private"}}
    assert project_data("healthProfileUpdated", data) == (
        {"weightKg": 70, "goals": {"dailyCalories": 2000}},
        1,
    )


def test_values_are_kept_as_they_are_for_validation_to_judge() -> None:
    """A declared property of the wrong type is not dropped: validation must see and refuse it."""
    data = {"id": "f1", "calories": "lots", "goals": "x"}
    assert project_data("foodLogCreated", data) == ({"id": "f1", "calories": "lots"}, 1)


def test_a_schema_that_allows_more_keeps_more() -> None:
    """additionalProperties true (or a schema) is an explicit opening: the rest is kept."""
    schema = {"properties": {"a": {}}, "additionalProperties": True}
    assert project({"a": 1, "b": 2}, schema) == ({"a": 1, "b": 2}, 0)


def test_array_items_are_projected_by_their_item_schema() -> None:
    """Objects inside a list keep their declared members only."""
    schema = {"type": "array", "items": {"properties": {"x": {}}}}
    assert project([{"x": 1, "y": 2}, {"x": 3}], schema) == ([{"x": 1}, {"x": 3}], 1)


def test_a_deleted_events_data_is_only_its_id() -> None:
    """*Deleted schemas declare only id."""
    assert project_data("exerciseLogDeleted", {"id": "e1", "activity": "run"}) == ({"id": "e1"}, 1)
