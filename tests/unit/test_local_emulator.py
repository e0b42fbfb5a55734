"""The local emulator's speed-ups of moto internals give moto's own answers (in-memory moto)."""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.models.table import Table

from healthcoach_realtime.local import emulator


def _table(client: Any, name: str, *, numeric_range_key: bool = False) -> Table:
    """Create a pay-per-request table (hash key ``pk`` S, optionally range key ``n`` N) in moto
    and return moto's own ``Table`` object for it."""
    from moto.dynamodb.models import dynamodb_backends

    keys = [("pk", "HASH", "S"), *([("n", "RANGE", "N")] if numeric_range_key else [])]
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": a, "KeyType": k} for a, k, _ in keys],
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": t} for a, _, t in keys],
        BillingMode="PAY_PER_REQUEST",
    )
    table: Table = dynamodb_backends["123456789012"]["us-east-1"].get_table(name)
    return table


def moto_all_items() -> Any:
    """moto's own ``Table.all_items``, even when an emulator in this process patched it already."""
    return getattr(Table.all_items, "moto", Table.all_items)


@pytest.fixture
def tables() -> Any:
    """Two tables as moto holds them: hash key only (S), and hash (S) + range (N), shuffled in."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        plain, ranged = _table(client, "plain"), _table(client, "ranged", numeric_range_key=True)
        rows = [(f"user-{u}", n) for u in range(12) for n in (1, 2, 10, 9, 100, -3, 2.5)]
        random.Random(7).shuffle(rows)
        for pk, n in rows:
            client.put_item(TableName="plain", Item={"pk": {"S": f"{pk}#{n}"}})
            client.put_item(TableName="ranged", Item={"pk": {"S": pk}, "n": {"N": str(n)}})
        yield [plain, ranged]


def test_plain_key_sort_gives_moto_s_order(tables: list[Table], monkeypatch: pytest.MonkeyPatch) -> None:
    """Numbers compare as numbers (10 after 9, -3 first), strings as strings: exactly moto's order."""
    original = moto_all_items()
    monkeypatch.setattr(Table, "all_items", original)  # restored after the test
    expected = [[(i.hash_key, i.range_key) for i in original(t)] for t in tables]

    emulator.sort_items_by_plain_keys()
    emulator.sort_items_by_plain_keys()  # idempotent

    assert Table.all_items is not original
    assert [[(i.hash_key, i.range_key) for i in t.all_items()] for t in tables] == expected
    ranged = [float(i.range_key.value) for i in tables[1].all_items()[:7]]
    assert ranged == sorted(ranged)  # the comparison above is not vacuous


def test_kept_order_follows_every_change_of_the_items(monkeypatch: pytest.MonkeyPatch) -> None:
    """A put, a put over an existing key (a new item) and a delete each show in the next
    ``all_items``, in moto's order; an update in place shows too (the same item object)."""
    original = moto_all_items()
    monkeypatch.setattr(Table, "all_items", original)
    emulator.sort_items_by_plain_keys()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        table = _table(client, "t")

        def seen() -> list[tuple[str, str]]:
            items = table.all_items()
            assert [i.hash_key for i in items] == [i.hash_key for i in original(table)]
            return [(i.hash_key.value, i.attrs["v"].value) for i in items]

        for pk in ("b", "c", "a"):
            client.put_item(TableName="t", Item={"pk": {"S": pk}, "v": {"S": "1"}})
        assert seen() == [("a", "1"), ("b", "1"), ("c", "1")]
        assert seen() == [("a", "1"), ("b", "1"), ("c", "1")]  # kept: the same answer
        client.put_item(TableName="t", Item={"pk": {"S": "b"}, "v": {"S": "2"}})
        assert seen() == [("a", "1"), ("b", "2"), ("c", "1")]
        client.update_item(
            TableName="t",
            Key={"pk": {"S": "c"}},
            UpdateExpression="SET v = :v",
            ExpressionAttributeValues={":v": {"S": "3"}},
        )
        assert seen() == [("a", "1"), ("b", "2"), ("c", "3")]
        client.delete_item(TableName="t", Key={"pk": {"S": "a"}})
        client.put_item(TableName="t", Item={"pk": {"S": "0"}, "v": {"S": "4"}})
        assert seen() == [("0", "4"), ("b", "2"), ("c", "3")]


def test_sqs_clock_reads_the_same_instant_as_moto_s(monkeypatch: pytest.MonkeyPatch) -> None:
    """Now is now in both units; a given datetime still goes through moto's conversion."""
    import moto.sqs.models
    from moto.core import utils

    for name in ("unix_time", "unix_time_millis"):
        monkeypatch.setattr(moto.sqs.models, name, getattr(utils, name))  # restored after the test

    emulator.read_sqs_clock_directly()
    emulator.read_sqs_clock_directly()  # idempotent: wraps moto's functions, not its own

    patched = moto.sqs.models
    assert patched.unix_time is not utils.unix_time
    assert abs(patched.unix_time() - utils.unix_time()) < 0.05
    assert abs(patched.unix_time_millis() - utils.unix_time_millis()) < 50
    moment = datetime(2026, 11, 29, 8, 0, 0, 250000)
    assert patched.unix_time_millis(moment) == utils.unix_time_millis(moment) == 1795939200250.0


def test_sqs_attribute_names_convert_as_moto_converts_them(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cached or not, the names a queue's attributes read are moto's own conversions."""
    import moto.sqs.models
    from moto.core import utils

    monkeypatch.setattr(moto.sqs.models, "camelcase_to_underscores", utils.camelcase_to_underscores)

    emulator.cache_sqs_attribute_names()
    emulator.cache_sqs_attribute_names()  # idempotent: one cache, not a cache of a cache

    convert = moto.sqs.models.camelcase_to_underscores
    names = ["ApproximateNumberOfMessagesNotVisible", "ContentBasedDeduplication", "KmsMasterKeyId"]
    assert [convert(n) for n in names * 2] == [utils.camelcase_to_underscores(n) for n in names * 2]
    assert convert.cache_info().hits == 3  # type: ignore[attr-defined]
    assert not hasattr(convert.__wrapped__, "cache_info")  # type: ignore[attr-defined]
