"""The sample data the demo page, the CLI and benchmarks emit: one valid object per event type."""

from __future__ import annotations

import pytest

from healthcoach_realtime.catalogue import EVENT_TYPES, validate_detail
from healthcoach_realtime.exceptions import UnknownEventTypeError
from healthcoach_realtime.local.samples import SAMPLES, sample_data


def test_every_event_type_has_a_sample() -> None:
    """SAMPLES covers exactly the catalogue."""
    assert set(SAMPLES) == set(EVENT_TYPES)


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_sample_passes_its_schema(event_type: str) -> None:
    """emit() accepts each sample as is."""
    validate_detail(event_type, {"userId": "alice", "data": sample_data(event_type)})


def test_sample_data_is_a_copy() -> None:
    """Changing a returned sample leaves the next caller's intact."""
    sample_data("healthProfileUpdated")["goals"]["dailyCalories"] = -1
    assert sample_data("healthProfileUpdated")["goals"]["dailyCalories"] == 2000


def test_unknown_type_has_no_sample() -> None:
    """An unknown type raises the catalogue's error."""
    with pytest.raises(UnknownEventTypeError):
        sample_data("nope")
