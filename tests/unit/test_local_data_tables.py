"""``hc-realtime dev --data-tables FILE``: the file read, checked, and turned into CreateTable input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from healthcoach_realtime.local.data_tables import load_data_tables_file
from healthcoach_realtime.local.provision import data_table_request
from healthcoach_realtime.resources import DATA_TABLES, DataTable
from healthcoach_realtime.table_mapping import TableMappingError

KEYS = [{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}]
ATTRIBUTES = [{"AttributeName": "PK", "AttributeType": "S"}, {"AttributeName": "SK", "AttributeType": "S"}]


def write(tmp_path: Path, content: object) -> Path:
    path = tmp_path / "tables.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def test_a_file_maps_an_apps_tables_with_their_definitions(tmp_path: Path) -> None:
    """The deploy's mapping plus a definition per table; stream ARNs are not needed locally."""
    path = write(
        tmp_path,
        {
            "FoodEntries": {
                "family": "foodLog",
                "userAttribute": "ownerSub",
                "idAttribute": "entryId",
                "definition": {"KeySchema": KEYS, "AttributeDefinitions": ATTRIBUTES},
            }
        },
    )
    [source] = load_data_tables_file(path)
    assert source.table == DataTable("FoodEntries", "foodLog", "ownerSub", "entryId")
    assert source.definition == {"KeySchema": KEYS, "AttributeDefinitions": ATTRIBUTES}


def test_every_problem_in_the_file_is_listed(tmp_path: Path) -> None:
    """A bad family and a definition without keys: both named, with the file."""
    path = write(
        tmp_path,
        {"A-table": {"family": "sleep"}, "B-table": {"family": "foodLog", "definition": {"KeySchema": KEYS}}},
    )
    with pytest.raises(TableMappingError) as caught:
        load_data_tables_file(path)
    problems = caught.value.problems
    assert len(problems) == 2
    assert "data table 'A-table': unknown family 'sleep'" in problems[0]
    assert "'B-table': its definition needs KeySchema and AttributeDefinitions" in problems[1]
    assert all(f"file {path}" in p for p in problems)


@pytest.mark.parametrize(
    ("content", "expected"), [("{", "not valid JSON"), ({}, "no data tables"), (None, "cannot read")]
)
def test_an_unusable_file_says_why(tmp_path: Path, content: object, expected: str) -> None:
    """Not JSON, empty, or missing: one clear problem."""
    path = tmp_path / "missing.json" if content is None else write(tmp_path, content)
    with pytest.raises(TableMappingError, match=expected):
        load_data_tables_file(path)


def test_without_a_definition_the_keys_are_the_user_and_id_attributes() -> None:
    """Our tables: PK userId, SK id; the profile has no sort key; a stream with both images."""
    food = data_table_request(DATA_TABLES[0])
    assert food["KeySchema"] == [
        {"AttributeName": "userId", "KeyType": "HASH"},
        {"AttributeName": "id", "KeyType": "RANGE"},
    ]
    assert food["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert [k["AttributeName"] for k in data_table_request(DATA_TABLES[3])["KeySchema"]] == ["userId"]


def test_a_describe_table_output_is_taken_as_a_definition() -> None:
    """What ``aws dynamodb describe-table`` prints: keys and indexes kept, its read-only fields not."""
    described = {
        "Table": {
            "TableName": "elsewhere",
            "TableStatus": "ACTIVE",
            "ItemCount": 12,
            "KeySchema": KEYS,
            "AttributeDefinitions": ATTRIBUTES,
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": "byOwner",
                    "KeySchema": [{"AttributeName": "PK", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"},
                    "IndexStatus": "ACTIVE",
                    "IndexArn": "arn:aws:dynamodb:...",
                }
            ],
        }
    }
    request = data_table_request(DataTable("FoodEntries", "foodLog"), described)
    assert request["TableName"] == "FoodEntries"
    assert request["BillingMode"] == "PAY_PER_REQUEST"
    assert request["KeySchema"] == KEYS
    assert request["GlobalSecondaryIndexes"] == [
        {
            "IndexName": "byOwner",
            "KeySchema": [{"AttributeName": "PK", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "ALL"},
        }
    ]
    assert "TableStatus" not in request
