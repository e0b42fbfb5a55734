"""One valid, realistic ``data`` object per event type, for the demo page, the CLI and benchmarks.

Each sample passes its type's schema (a unit test proves it), so ``emit`` accepts it as is::

    from healthcoach_realtime.local.samples import sample_data
    emit("alice", "foodLogCreated", sample_data("foodLogCreated"))
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from healthcoach_realtime.exceptions import UnknownEventTypeError

__all__ = ["SAMPLES", "sample_data"]

_FOOD_LOG: dict[str, Any] = {
    "id": "food-7f3a",
    "name": "Greek yogurt with blueberries",
    "mealType": "breakfast",
    "loggedAt": "2026-11-29T08:15:00Z",
    "quantity": 200,
    "unit": "g",
    "calories": 190,
    "proteinGrams": 17,
    "carbsGrams": 21,
    "fatGrams": 4,
}
_EXERCISE_LOG: dict[str, Any] = {
    "id": "exercise-21c9",
    "activity": "Running",
    "startedAt": "2026-11-29T07:00:00Z",
    "durationMinutes": 35,
    "intensity": "moderate",
    "caloriesBurned": 380,
    "distanceKm": 6.2,
}
_HEALTH_METRIC: dict[str, Any] = {
    "id": "metric-0b41",
    "metric": "weight",
    "value": 71.4,
    "unit": "kg",
    "measuredAt": "2026-11-29T06:45:00Z",
    "source": "Withings Body+",
}

SAMPLES: Mapping[str, Mapping[str, Any]] = {
    "foodLogCreated": _FOOD_LOG,
    "foodLogUpdated": {**_FOOD_LOG, "quantity": 250, "calories": 238, "updatedAt": "2026-11-29T08:20:00Z"},
    "foodLogDeleted": {"id": _FOOD_LOG["id"]},
    "exerciseLogCreated": _EXERCISE_LOG,
    "exerciseLogUpdated": {
        **_EXERCISE_LOG,
        "durationMinutes": 42,
        "distanceKm": 7.1,
        "updatedAt": "2026-11-29T08:00:00Z",
    },
    "exerciseLogDeleted": {"id": _EXERCISE_LOG["id"]},
    "healthMetricCreated": _HEALTH_METRIC,
    "healthMetricUpdated": {**_HEALTH_METRIC, "value": 71.2, "updatedAt": "2026-11-29T06:50:00Z"},
    "healthMetricDeleted": {"id": _HEALTH_METRIC["id"]},
    "healthProfileUpdated": {
        "displayName": "Alice",
        "birthDate": "1990-04-12",
        "sex": "female",
        "heightCm": 168,
        "weightKg": 71.2,
        "activityLevel": "moderate",
        "goals": {"dailyCalories": 2000, "targetWeightKg": 68, "weeklyExerciseMinutes": 150},
        "updatedAt": "2026-11-29T09:00:00Z",
    },
}


def sample_data(event_type: str) -> dict[str, Any]:
    """A fresh copy of the sample ``data`` of ``event_type`` (callers may change it)."""
    try:
        return copy.deepcopy(dict(SAMPLES[event_type]))
    except KeyError:
        raise UnknownEventTypeError(event_type) from None
