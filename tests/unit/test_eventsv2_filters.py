"""Subscriber filters: patterns per scope matched by moto's matcher, and what EventsV2 refuses."""

from __future__ import annotations

import json
from typing import Any

import pytest

from healthcoach_realtime.local.eventsv2.events import build_event
from healthcoach_realtime.local.eventsv2.exceptions import InvalidInputError
from healthcoach_realtime.local.eventsv2.filters import compile_filters

BUS = "arn:aws:events:us-east-1:123456789012:event-busv2/bus/" + "a" * 25


def _view(detail: dict[str, Any], *, source: str = "healthcoach.food-logs", group: str | None = "u1") -> Any:
    entry: dict[str, Any] = {"Source": source, "DetailType": "foodLogCreated", "Detail": json.dumps(detail)}
    if group is not None:
        entry["SystemMetadata"] = {"EventGroupId": group}
    event = build_event(
        entry,
        detail,
        event_id="e-1",
        sequence_number=7,
        bus_arn=BUS,
        account="123456789012",
        region="us-east-1",
        ingestion_time=1_700_000_000.0,
    )
    return event.view


def _filters(*filters: tuple[str, dict[str, Any]]) -> Any:
    return compile_filters(
        {
            "Language": "EVENT_BRIDGE_PATTERN",
            "Filters": [{"Scope": scope, "Pattern": json.dumps(pattern)} for scope, pattern in filters],
        }
    )


def test_a_data_pattern_matches_the_envelope_with_prefix() -> None:
    """DATA patterns see the classic envelope: ``source`` by prefix, ``detail`` fields by value."""
    subscriber = _filters(("DATA", {"source": [{"prefix": "healthcoach."}], "detail": {"kind": ["meal"]}}))

    assert subscriber.matches(_view({"kind": "meal"}))
    assert not subscriber.matches(_view({"kind": "snack"}))
    assert not subscriber.matches(_view({"kind": "meal"}, source="other.app"))


def test_anything_but_and_or_combine() -> None:
    """``anything-but`` excludes values; ``$or`` accepts either branch."""
    subscriber = _filters(
        (
            "DATA",
            {
                "$or": [
                    {"detail": {"kind": [{"anything-but": ["meal", "snack"]}]}},
                    {"detail": {"vip": [True]}},
                ]
            },
        )
    )

    assert subscriber.matches(_view({"kind": "drink"}))
    assert subscriber.matches(_view({"kind": "meal", "vip": True}))
    assert not subscriber.matches(_view({"kind": "meal"}))


def test_a_system_metadata_pattern_matches_the_group_and_aws_fields() -> None:
    """SYSTEM_METADATA patterns see ``EventGroupId`` and the ``aws:`` fields (strings)."""
    subscriber = _filters(
        ("SYSTEM_METADATA", {"EventGroupId": [{"exists": True}], "aws:SequenceNumber": ["7"]})
    )

    assert subscriber.matches(_view({}))
    assert not subscriber.matches(_view({}, group=None))


def test_a_metadata_pattern_sees_the_empty_metadata_map() -> None:
    """PutEvents carries no Metadata, so a METADATA pattern requiring a key matches nothing."""
    assert not _filters(("METADATA", {"tenant": ["a"]})).matches(_view({}))
    assert _filters(("METADATA", {"tenant": [{"exists": False}]})).matches(_view({}))


def test_filters_of_different_scopes_must_all_match() -> None:
    """Filters are ANDed across scopes."""
    subscriber = _filters(
        ("DATA", {"detail": {"kind": ["meal"]}}), ("SYSTEM_METADATA", {"EventGroupId": ["u2"]})
    )

    assert not subscriber.matches(_view({"kind": "meal"}, group="u1"))
    assert subscriber.matches(_view({"kind": "meal"}, group="u2"))


def test_no_filter_configuration_passes_every_event() -> None:
    """Without filters every event is delivered."""
    assert compile_filters(None).matches(_view({"anything": 1}))


@pytest.mark.parametrize(
    ("pattern", "complaint"),
    [
        ({"source": [{"wildcard": "health*"}]}, "wildcard"),
        ({"source": [{"regex": "x"}]}, "unknown matcher"),
        ({"source": "healthcoach"}, "object or an array"),
        ({"detail": {"n": [{"numeric": [">", "one"]}]}}, "numeric"),
        ({"source": []}, "empty array"),
    ],
)
def test_patterns_eventsv2_does_not_accept_are_refused(pattern: dict[str, Any], complaint: str) -> None:
    """Wildcards, unknown matchers and malformed patterns are InvalidInputException, naming why."""
    with pytest.raises(InvalidInputError, match=complaint):
        _filters(("DATA", pattern))


def test_a_pattern_that_is_not_an_object_and_a_repeated_scope_are_refused() -> None:
    """A JSON array pattern and two DATA filters are both refused."""
    with pytest.raises(InvalidInputError, match="JSON object"):
        compile_filters({"Filters": [{"Scope": "DATA", "Pattern": "[1]"}]})
    with pytest.raises(InvalidInputError, match="second filter"):
        _filters(("DATA", {"source": ["a"]}), ("DATA", {"source": ["b"]}))


def test_more_than_4096_bytes_of_patterns_is_refused() -> None:
    """The patterns' total size is capped at 4,096 bytes."""
    big = {"detail": {"kind": ["x" * 2100]}}

    with pytest.raises(InvalidInputError, match="4096"):
        _filters(("DATA", big), ("SYSTEM_METADATA", {"EventGroupId": ["y" * 2100]}))
