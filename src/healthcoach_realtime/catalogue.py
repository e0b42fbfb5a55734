"""The event catalogue: one JSON Schema (draft-04) per event type, loaded from ``schemas/``.

``schemas/`` is the single source of truth: the validators, the bus subscribers' filters and
the Schema Registry entries are all derived from it. ``EventType`` must list exactly its files
(a unit test proves they agree).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any, Literal, cast, get_args

from healthcoach_realtime.exceptions import InvalidEventError, UnknownEventTypeError

__all__ = [
    "EVENT_TYPES",
    "SOURCES",
    "EventType",
    "is_event_type",
    "load_schema",
    "schema_dir",
    "source_for",
    "validate_detail",
]

EventType = Literal[
    "foodLogCreated",
    "foodLogUpdated",
    "foodLogDeleted",
    "exerciseLogCreated",
    "exerciseLogUpdated",
    "exerciseLogDeleted",
    "healthMetricCreated",
    "healthMetricUpdated",
    "healthMetricDeleted",
    "healthProfileUpdated",
]
EVENT_TYPES: tuple[EventType, ...] = get_args(EventType)

# EventBridge ``Source`` per domain: the event type's prefix names the domain.
SOURCES: Mapping[str, str] = {
    "foodLog": "healthcoach.food-logs",
    "exerciseLog": "healthcoach.exercise-logs",
    "healthMetric": "healthcoach.health-metrics",
    "healthProfile": "healthcoach.health-profile",
}


def schema_dir() -> Path:
    """Where the schema files are: inside the installed package, or the repository's ``schemas/``."""
    packaged = Path(__file__).parent / "schemas"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parents[2] / "schemas"


def is_event_type(value: object) -> bool:
    """True when ``value`` names an event type of the catalogue."""
    return isinstance(value, str) and value in EVENT_TYPES


def source_for(event_type: str) -> str:
    """The EventBridge ``Source`` of an event type, e.g. ``healthcoach.food-logs``."""
    if not is_event_type(event_type):
        raise UnknownEventTypeError(event_type)
    for prefix, source in SOURCES.items():
        if event_type.startswith(prefix):
            return source
    raise UnknownEventTypeError(event_type)  # pragma: no cover - every type has a prefix


@cache
def load_schema(event_type: str) -> dict[str, Any]:
    """The parsed JSON Schema of one event type."""
    if not is_event_type(event_type):
        raise UnknownEventTypeError(event_type)
    path = schema_dir() / f"{event_type}.json"
    return cast(dict[str, Any], json.loads(path.read_text(encoding="utf-8")))


@cache
def _validator(event_type: str) -> Callable[[Any], Any]:
    """Compiled once per type and process, on first use: compiling costs ~20 ms a schema."""
    import fastjsonschema

    return cast(Callable[[Any], Any], fastjsonschema.compile(load_schema(event_type)))


def validate_detail(event_type: str, detail: Any) -> None:
    """Check an event's ``detail`` (``{"userId", "data"}``) against its schema.

    Raises ``InvalidEventError`` naming the field and the rule, e.g.
    ``invalid foodLogCreated: detail.data.calories must be bigger than or equal to 0``.
    """
    import fastjsonschema

    validate = _validator(event_type)
    try:
        validate(detail)
    except fastjsonschema.JsonSchemaValueException as exc:
        field = str(exc.name).replace("data", "detail", 1)
        message = str(exc.message).replace("data", "detail", 1)
        raise InvalidEventError(event_type, message, field=field, rule=str(exc.rule or "")) from None
