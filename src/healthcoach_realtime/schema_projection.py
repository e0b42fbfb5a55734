"""Keep only what an event's schema declares: a table item's other attributes never leave it.

An app's items carry attributes of its own (an internal flag, an audit field, another
system's id, somebody's e-mail). The stream bridge must not push them to browsers nor keep
them in the history, so the item is *projected* onto the event's schema before it is sent::

    project_data("foodLogCreated", {"id": "f1", "calories": 95, "auditedBy": "x"})
    # -> ({"id": "f1", "calories": 95}, 1)

An object whose schema lists ``properties`` keeps those only, at every depth (the profile's
``goals``, say). A schema that allows more on purpose (``additionalProperties`` true or a
schema, or ``patternProperties``) keeps the rest too; a value whose schema declares no
properties (a string, a list of numbers) is kept whole. Values are never changed here: a
value of the wrong type is left for validation, which dead-letters the record with its reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from healthcoach_realtime.catalogue import load_schema

__all__ = ["project", "project_data"]


def project(value: Any, schema: Mapping[str, Any]) -> tuple[Any, int]:
    """``value`` without what ``schema`` does not declare, and how many members were left out."""
    properties = schema.get("properties")
    if isinstance(value, dict) and isinstance(properties, Mapping) and _closed(schema):
        kept: dict[str, Any] = {}
        dropped = 0
        for name, member in value.items():
            declared = properties.get(name)
            if not isinstance(declared, Mapping):
                dropped += 1
                continue
            kept[name], inner = project(member, declared)
            dropped += inner
        return kept, dropped
    items = schema.get("items")
    if isinstance(value, list) and isinstance(items, Mapping):
        projected = [project(member, items) for member in value]
        return [member for member, _ in projected], sum(inner for _, inner in projected)
    return value, 0


def project_data(event_type: str, data: Mapping[str, Any]) -> tuple[dict[str, Any], int]:
    """``data`` projected onto the ``data`` schema of ``event_type`` (a catalogue type)."""
    schema = load_schema(event_type).get("properties", {}).get("data", {})
    projected, dropped = project(dict(data), schema)
    return projected, dropped


def _closed(schema: Mapping[str, Any]) -> bool:
    """True unless the schema itself lets undeclared members in."""
    extra = schema.get("additionalProperties", False)
    return (extra is False or extra is None) and not schema.get("patternProperties")
