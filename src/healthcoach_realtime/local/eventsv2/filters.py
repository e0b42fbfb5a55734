"""Subscriber filters: event patterns per scope, matched with moto's EventBridge matcher.

``FilterConfiguration{Language: EVENT_BRIDGE_PATTERN, Filters: [{Pattern, Scope}]}``: a pattern
with scope ``DATA`` matches the event's envelope, ``METADATA`` its ``Metadata`` map,
``SYSTEM_METADATA`` its ``SystemMetadata`` map; an event must match every filter (AND).

The syntax is EventBridge's event pattern syntax without wildcards: exact values, ``prefix``,
``suffix``, ``anything-but``, ``numeric``, ``exists``, ``equals-ignore-case``, ``cidr`` and
``$or``. moto's ``EventPattern`` does the matching; what moto would accept silently is refused
here: a ``wildcard`` filter, an operator it does not know (moto would match everything), a
pattern that is not a JSON object, two filters with the same scope, more than 4,096 bytes of
patterns in all.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from moto.events.models import EventPattern

from healthcoach_realtime.local.eventsv2.exceptions import InvalidInputError

__all__ = ["MAX_PATTERN_BYTES", "SCOPES", "SubscriberFilter", "compile_filters"]

MAX_PATTERN_BYTES = 4096
SCOPES = {"DATA": "Data", "METADATA": "Metadata", "SYSTEM_METADATA": "SystemMetadata"}
_OPERATORS = frozenset(
    {"prefix", "suffix", "anything-but", "numeric", "exists", "equals-ignore-case", "cidr"}
)
_NUMERIC_OPERATORS = frozenset({"<", "<=", "=", ">=", ">"})


@dataclass(frozen=True, slots=True)
class SubscriberFilter:
    """The compiled filters of one subscriber: ``(view key, pattern)`` pairs, all must match."""

    patterns: tuple[tuple[str, EventPattern], ...] = ()

    def matches(self, view: Mapping[str, Any]) -> bool:
        """Whether the event (``{"Data", "Metadata", "SystemMetadata"}``) passes every filter."""
        return all(pattern.matches_event(view[key]) for key, pattern in self.patterns)


def compile_filters(configuration: Mapping[str, Any] | None) -> SubscriberFilter:
    """Check and compile a ``FilterConfiguration`` (``None``: every event passes).

    Raises ``InvalidInputError`` naming what is wrong.
    """
    if not configuration or not configuration.get("Filters"):
        return SubscriberFilter()
    language = configuration.get("Language", "EVENT_BRIDGE_PATTERN")
    if language != "EVENT_BRIDGE_PATTERN":
        raise InvalidInputError(f"FilterConfiguration.Language {language!r} is not supported")
    filters = configuration["Filters"]
    total = sum(len(item["Pattern"].encode("utf-8")) for item in filters)
    if total > MAX_PATTERN_BYTES:
        raise InvalidInputError(
            f"The filter patterns take {total} bytes; at most {MAX_PATTERN_BYTES} are allowed"
        )
    compiled = []
    seen: set[str] = set()
    for index, item in enumerate(filters, start=1):
        scope = item["Scope"]
        if scope in seen:
            raise InvalidInputError(f"FilterConfiguration.Filters.{index}: a second filter for scope {scope}")
        seen.add(scope)
        compiled.append(
            (SCOPES[scope], _compile_pattern(item["Pattern"], f"FilterConfiguration.Filters.{index}"))
        )
    return SubscriberFilter(tuple(compiled))


def _compile_pattern(text: str, where: str) -> EventPattern:
    try:
        pattern = json.loads(text)
    except ValueError as exc:
        raise InvalidInputError(f"{where}.Pattern is not valid JSON: {exc}") from None
    if not isinstance(pattern, dict):
        raise InvalidInputError(f"{where}.Pattern must be a JSON object")
    problem = _pattern_problem(pattern, "")
    if problem:
        raise InvalidInputError(f"{where}.Pattern: {problem}")
    return EventPattern(text, pattern)


def _pattern_problem(node: Mapping[str, Any], path: str) -> str | None:
    """What is wrong with a pattern object, or ``None``."""
    for key, value in node.items():
        where = f"{path}.{key}" if path else key
        if key == "$or":
            if not isinstance(value, list) or len(value) < 2 or not all(isinstance(p, dict) for p in value):
                return f"'{where}' must be an array of at least two pattern objects"
            problems = (_pattern_problem(p, path) for p in value)
            found = next((p for p in problems if p), None)
            if found:
                return found
        elif isinstance(value, dict):
            found = _pattern_problem(value, where)
            if found:
                return found
        elif isinstance(value, list):
            if not value:
                return f"'{where}' must not be an empty array"
            found = next((p for p in (_matcher_problem(m, where) for m in value) if p), None)
            if found:
                return found
        else:
            return f"'{where}' must be an object or an array"
    return None


def _matcher_problem(matcher: Any, where: str) -> str | None:
    if matcher is None or isinstance(matcher, str | int | float | bool):
        return None
    if not isinstance(matcher, dict) or len(matcher) != 1:
        return f"'{where}' holds a matcher that is neither a value nor a one-key object"
    operator, operand = next(iter(matcher.items()))
    if operator == "wildcard":
        return f"'{where}': wildcard filters are not supported by EventBridge event buses (EventsV2)"
    if operator not in _OPERATORS:
        return f"'{where}': unknown matcher {operator!r}"
    if operator == "exists" and not isinstance(operand, bool):
        return f"'{where}': exists takes true or false"
    if operator == "numeric" and not _numeric_operand_ok(operand):
        return f"'{where}': numeric takes [operator, number, ...] with operators < <= = >= >"
    if operator == "anything-but" and isinstance(operand, dict):
        inner = next(iter(operand), None)
        if len(operand) != 1 or inner not in ("prefix", "suffix", "equals-ignore-case"):
            return f"'{where}': anything-but takes a value, a list, or prefix/suffix/equals-ignore-case"
    return None


def _numeric_operand_ok(operand: Any) -> bool:
    if not isinstance(operand, list) or not operand or len(operand) % 2:
        return False
    operators, numbers = operand[::2], operand[1::2]
    return all(op in _NUMERIC_OPERATORS for op in operators) and all(
        isinstance(n, int | float) and not isinstance(n, bool) for n in numbers
    )
