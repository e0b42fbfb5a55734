"""The local emulator's speed-ups of moto internals give moto's own answers (in-memory moto)."""

from __future__ import annotations

import random
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.models.table import Table

from healthcoach_realtime.local import emulator


@pytest.fixture
def tables() -> Any:
    """Two tables as moto holds them: hash key only (S), and hash (S) + range (N), shuffled in."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="plain",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        client.create_table(
            TableName="ranged",
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "n", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "n", "AttributeType": "N"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        rows = [(f"user-{u}", n) for u in range(12) for n in (1, 2, 10, 9, 100, -3, 2.5)]
        random.Random(7).shuffle(rows)
        for pk, n in rows:
            client.put_item(TableName="plain", Item={"pk": {"S": f"{pk}#{n}"}})
            client.put_item(TableName="ranged", Item={"pk": {"S": pk}, "n": {"N": str(n)}})
        from moto.dynamodb.models import dynamodb_backends

        backend = dynamodb_backends["123456789012"]["us-east-1"]
        yield [backend.get_table("plain"), backend.get_table("ranged")]


def test_plain_key_sort_gives_moto_s_order(tables: list[Table], monkeypatch: pytest.MonkeyPatch) -> None:
    """Numbers compare as numbers (10 after 9, -3 first), strings as strings: exactly moto's order."""
    original = Table.all_items
    monkeypatch.setattr(Table, "all_items", original)  # restored after the test
    expected = [[(i.hash_key, i.range_key) for i in original(t)] for t in tables]

    emulator.sort_items_by_plain_keys()
    emulator.sort_items_by_plain_keys()  # idempotent

    assert Table.all_items is not original
    assert [[(i.hash_key, i.range_key) for i in t.all_items()] for t in tables] == expected
    ranged = [float(i.range_key.value) for i in tables[1].all_items()[:7]]
    assert ranged == sorted(ranged)  # the comparison above is not vacuous
