"""Server-side input validation driven by botocore's ``eventbridgev2`` model.

botocore's client checks only required members, types and minimum lengths; the service also
checks maximum lengths, ranges, enums and patterns. Walking the model's shapes here checks all
of them, so every constraint the model states is enforced without a hand-written copy of it.
Patterns must match the whole value (the model's patterns are written so that they can).

Violations read like AWS's: ``Value 'x!' at 'Name' failed to satisfy constraint: Member must
satisfy regular expression pattern: ...``; a sensitive member's value is never echoed.
Members the model does not know are ignored, as a smithy server does.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

import botocore.session
from botocore.model import ListShape, MapShape, OperationModel, ServiceModel, Shape, StructureShape

from healthcoach_realtime.local.eventsv2.exceptions import InvalidInputError, UnknownOperationError

__all__ = ["check", "operation_model", "raise_if_invalid", "service_model", "shape"]

SERVICE_NAME = "eventbridgev2"
_ECHO_LIMIT = 100


@functools.cache
def service_model() -> ServiceModel:
    """The installed botocore's model of the service (loaded once)."""
    return botocore.session.get_session().get_service_model(SERVICE_NAME)


def operation_model(name: str) -> OperationModel:
    """The named operation; ``UnknownOperationError`` if the model has none."""
    model = service_model()
    if name not in model.operation_names:
        raise UnknownOperationError(f"{name} is not an operation of AWSEventsV2")
    return model.operation_model(name)


@functools.cache
def shape(name: str) -> Shape:
    """A shape of the model by name (one object per name, so its resolved members are kept)."""
    return service_model().shape_for(name)


def raise_if_invalid(operation: str, request: Mapping[str, Any], *, opaque: Collection[str] = ()) -> None:
    """``InvalidInputError`` listing every violation of ``request`` against the operation's input.

    Shapes named in ``opaque`` are not descended into (PutEvents checks its entries one by one).
    """
    input_shape = operation_model(operation).input_shape
    if input_shape is None:
        return
    violations = check(input_shape, request, "", opaque=opaque)
    if violations:
        raise InvalidInputError(summarize(violations))


def summarize(violations: list[str]) -> str:
    """AWS's one-line form: ``N validation error(s) detected: a; b``."""
    noun = "error" if len(violations) == 1 else "errors"
    return f"{len(violations)} validation {noun} detected: " + "; ".join(violations)


def check(shape: Shape, value: Any, path: str, *, opaque: Collection[str] = ()) -> list[str]:
    """Every violation of ``value`` against ``shape`` (an empty list when it is valid)."""
    kind = shape.type_name
    if not _has_type(kind, value):
        return [f"Value at '{path}' failed to satisfy constraint: Member must be of type {kind}"]
    if shape.name in opaque:
        return []
    if isinstance(shape, StructureShape):
        return _check_structure(shape, value, path, opaque)
    violations = _check_bounds(shape, value, path)
    if isinstance(shape, ListShape):
        for index, item in enumerate(value, start=1):
            violations += check(shape.member, item, f"{path}.{index}", opaque=opaque)
    elif isinstance(shape, MapShape):
        for key, item in value.items():
            violations += check(shape.key, key, f"{path}.key", opaque=opaque)
            violations += check(shape.value, item, f"{path}.{key}", opaque=opaque)
    return violations


def _check_structure(
    shape: StructureShape, value: Mapping[str, Any], path: str, opaque: Collection[str]
) -> list[str]:
    violations = []
    for name in shape.required_members:
        if value.get(name) is None:
            violations.append(
                f"Value null at '{_join(path, name)}' failed to satisfy constraint: Member must not be null"
            )
    for name, member in shape.members.items():
        if value.get(name) is not None:
            violations += check(member, value[name], _join(path, name), opaque=opaque)
    return violations


def _check_bounds(shape: Shape, value: Any, path: str) -> list[str]:
    meta = shape.metadata
    rules = []
    if shape.type_name in ("integer", "long"):
        if "min" in meta and value < meta["min"]:
            rules.append(f"have value greater than or equal to {meta['min']}")
        if "max" in meta and value > meta["max"]:
            rules.append(f"have value less than or equal to {meta['max']}")
    elif isinstance(value, str | list | dict):
        if "min" in meta and len(value) < meta["min"]:
            rules.append(f"have length greater than or equal to {meta['min']}")
        if "max" in meta and len(value) > meta["max"]:
            rules.append(f"have length less than or equal to {meta['max']}")
    if isinstance(value, str):
        enum = getattr(shape, "enum", None)
        if enum and value not in enum:
            rules.append(f"satisfy enum value set: [{', '.join(enum)}]")
        pattern = meta.get("pattern")
        if pattern is not None and _compiled(pattern).fullmatch(value) is None:
            rules.append(f"satisfy regular expression pattern: {pattern}")
    shown = _shown(shape, value, path)
    return [f"{shown} failed to satisfy constraint: Member must {rule}" for rule in rules]


def _has_type(kind: str, value: Any) -> bool:
    if kind == "structure":
        return isinstance(value, Mapping)
    if kind == "map":
        return isinstance(value, Mapping)
    if kind == "list":
        return isinstance(value, list)
    if kind == "string":
        return isinstance(value, str)
    if kind in ("integer", "long"):
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind in ("double", "float"):
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "timestamp":
        return isinstance(value, datetime)
    if kind == "blob":
        return isinstance(value, bytes)
    return True


def _shown(shape: Shape, value: Any, path: str) -> str:
    if shape.metadata.get("sensitive") or not isinstance(value, str | int) or len(str(value)) > _ECHO_LIMIT:
        return f"Value at '{path}'"
    return f"Value '{value}' at '{path}'"


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)
