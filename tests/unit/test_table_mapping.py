"""The data table mapping as configuration: parsed, defaulted, checked all at once, encoded small."""

from __future__ import annotations

import json

import pytest

from healthcoach_realtime.exceptions import ConfigurationError
from healthcoach_realtime.resources import DATA_TABLES, DataTable
from healthcoach_realtime.table_mapping import (
    MAX_MAPPING_ENV_BYTES,
    TableMappingError,
    decode_tables,
    encode_tables,
    family_types,
    mapping_env_problem,
    parse_table_sources,
    read_table_sources,
)

WHERE = "context `dataTableStreamArns`"


def arn(table: str) -> str:
    return f"arn:aws:dynamodb:eu-west-1:123456789012:table/{table}/stream/2025-01-01T00:00:00.000"


APP_FOOD = {
    "streamArn": arn("FoodEntries-prod"),
    "family": "foodLog",
    "userAttribute": "ownerSub",
    "idAttribute": "entryId",
    "renames": {"kcal": "calories", "title": "name"},
}


def problems_of(raw: object, *, require_stream_arn: bool = True) -> list[str]:
    return parse_table_sources(raw, where=WHERE, require_stream_arn=require_stream_arn)[1]


def test_a_bare_stream_arn_keeps_one_of_our_tables_as_it_is() -> None:
    """``{"healthcoach_food_logs": "<arn>"}``: today's shape, today's mapping."""
    [source] = read_table_sources({"healthcoach_food_logs": arn("healthcoach_food_logs")}, where=WHERE)
    assert source.table == DATA_TABLES[0]
    assert source.stream_arn == arn("healthcoach_food_logs")


def test_an_existing_apps_table_is_described_by_family_attributes_and_renames() -> None:
    """Every key of an object entry lands in the table's mapping."""
    [source] = read_table_sources({"FoodEntries-prod": APP_FOOD}, where=WHERE, require_stream_arn=True)
    assert source.table == DataTable(
        name="FoodEntries-prod",
        record="foodLog",
        user_attribute="ownerSub",
        id_attribute="entryId",
        renames=(("kcal", "calories"), ("title", "name")),
    )


def test_left_out_keys_take_the_familys_defaults() -> None:
    """userId and id by default; the profile family has no item id (one item per user)."""
    sources = read_table_sources(
        {"Meals": {"family": "foodLog"}, "Profiles": {"family": "healthProfile"}}, where=WHERE
    )
    meals, profiles = (s.table for s in sources)
    assert (meals.user_attribute, meals.id_attribute) == ("userId", "id")
    assert (profiles.user_attribute, profiles.id_attribute) == ("userId", "")


def test_every_problem_is_named_with_its_table_and_key() -> None:
    """Unknown family, typo'd key, undeclared rename target, ARN of another table: all reported."""
    problems = problems_of(
        {
            "Meals": {"streamArn": arn("Meals"), "family": "meal"},
            "Runs": {"streamArn": arn("Runs"), "family": "exerciseLog", "userAtribute": "sub"},
            "Weights": {"streamArn": arn("Weights"), "family": "healthMetric", "renames": {"kg": "kilos"}},
            "Steps": arn("Weights"),
        }
    )
    text = "\n".join(problems)
    assert "data table 'Meals': unknown family 'meal'" in text
    assert "data table 'Runs': unknown key(s) 'userAtribute'" in text
    assert "data table 'Weights': rename 'kg' -> 'kilos': no such property in the healthMetric" in text
    assert "data table 'Steps': the stream ARN belongs to table 'Weights'" in text
    assert all(p.endswith(f"(from {WHERE})") for p in problems)


def test_a_family_with_deletions_needs_an_id_attribute() -> None:
    """Without an item id a removal could not say which item went: refused."""
    problems = problems_of({"Meals": {"streamArn": arn("Meals"), "family": "foodLog", "idAttribute": None}})
    assert problems == [
        "data table 'Meals': idAttribute missing: removals become foodLogDeleted with the item's id"
        f" (from {WHERE})"
    ]


@pytest.mark.parametrize(
    ("renames", "expected"),
    [
        ({"entryId": "notes"}, "it is the user or id attribute"),
        ({"code": "id"}, "name the item id attribute with idAttribute"),
        ({"kcal": "calories", "energy": "calories"}, "another attribute is renamed to it already"),
        (["kcal"], "renames must be an object"),
    ],
)
def test_renames_that_cannot_be_right_are_refused(renames: object, expected: str) -> None:
    """A rename of a key attribute, to ``id``, twice to one property, or not an object."""
    problems = problems_of({"FoodEntries-prod": {**APP_FOOD, "renames": renames}})
    assert len(problems) == 1
    assert expected in problems[0]


def test_a_stream_arn_is_required_to_deploy_but_not_locally() -> None:
    """The deploy config needs each stream; the local stack creates its own."""
    entry = {"Meals": {"family": "foodLog"}}
    assert "streamArn missing" in problems_of(entry)[0]
    assert problems_of(entry, require_stream_arn=False) == []


def test_a_table_that_is_none_of_ours_needs_its_family() -> None:
    """A bare ARN for another table cannot be mapped: the message says what to add."""
    [problem] = problems_of({"orders": arn("orders")})
    assert "family missing (it is none of our tables" in problem


def test_malformed_json_and_non_objects_are_one_problem_each() -> None:
    """Text that is not JSON, and JSON that is not an object, say so."""
    assert "not valid JSON" in problems_of("{")[0]
    assert "must be a JSON object" in problems_of("[]")[0]
    assert problems_of("") == problems_of(None) == []


def test_read_raises_with_every_problem() -> None:
    """``read_table_sources`` raises one error listing them all."""
    with pytest.raises(TableMappingError) as caught:
        read_table_sources({"a": 1, "Meals": {"family": "x"}}, where=WHERE)
    assert len(caught.value.problems) == 2


def test_encoding_leaves_defaults_out_and_decodes_to_the_same_tables() -> None:
    """The bridge's environment holds only what differs from the defaults, and round-trips."""
    custom = read_table_sources({"FoodEntries-prod": APP_FOOD}, where=WHERE)[0].table
    tables = (*DATA_TABLES, custom)
    text = encode_tables(tables)
    assert json.loads(text)["healthcoach_health_profile"] == {"family": "healthProfile"}
    assert decode_tables(text) == tables


def test_an_unset_environment_means_our_own_tables() -> None:
    """Without DATA_TABLE_MAPPINGS the bridge knows DATA_TABLES; a malformed value fails by name."""
    assert decode_tables(None) == DATA_TABLES
    with pytest.raises(ConfigurationError, match="DATA_TABLE_MAPPINGS"):
        decode_tables('{"Meals": {"family": "x"}}')


def test_a_mapping_too_big_for_lambdas_environment_is_named() -> None:
    """Lambda's 4 KB environment: a mapping over the bridge's share is a problem, ours is not."""
    assert mapping_env_problem(DATA_TABLES) is None
    many = [DataTable(name=f"table-{n:03d}-{'x' * 60}", record="foodLog") for n in range(60)]
    problem = mapping_env_problem(many)
    assert problem is not None
    assert str(MAX_MAPPING_ENV_BYTES) in problem


def test_family_types_follow_the_catalogue() -> None:
    """foodLog has all three; the profile only its update."""
    food, profile = family_types("foodLog"), family_types("healthProfile")
    assert (food.created, food.updated, food.deleted) == (
        "foodLogCreated",
        "foodLogUpdated",
        "foodLogDeleted",
    )
    assert (profile.created, profile.updated, profile.deleted) == (None, "healthProfileUpdated", None)
