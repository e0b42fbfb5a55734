"""The history table: keys userId/sk, the bySeq local index, TTL on ``ttl``, on-demand, PITR,
named by CloudFormation."""

from __future__ import annotations

from typing import Any

from tests.infra.conftest import Synthesized


def _history(synthesized: Synthesized) -> dict[str, Any]:
    resource: dict[str, Any] = synthesized.template.to_json()["Resources"][
        synthesized.logical_id(synthesized.stack.history.table)
    ]
    return resource


def test_history_is_keyed_by_user_and_sort_key(synthesized: Synthesized) -> None:
    """PK ``userId`` (S), SK ``sk`` (S): one item per event id (the claim is the kept event)."""
    properties = _history(synthesized)["Properties"]
    assert properties["KeySchema"] == [
        {"AttributeName": "userId", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert {(a["AttributeName"], a["AttributeType"]) for a in properties["AttributeDefinitions"]} == {
        ("userId", "S"),
        ("sk", "S"),
        ("seq", "N"),
    }


def test_history_has_a_local_index_by_seq(synthesized: Synthesized) -> None:
    """``bySeq`` (userId, seq), all attributes: a resume is one strongly consistent range query."""
    assert _history(synthesized)["Properties"]["LocalSecondaryIndexes"] == [
        {
            "IndexName": "bySeq",
            "KeySchema": [
                {"AttributeName": "userId", "KeyType": "HASH"},
                {"AttributeName": "seq", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        }
    ]


def test_history_expires_by_ttl(synthesized: Synthesized) -> None:
    """TTL on ``ttl`` (now + HISTORY_TTL_SECONDS, written by the dispatcher)."""
    spec = _history(synthesized)["Properties"]["TimeToLiveSpecification"]
    assert spec == {"AttributeName": "ttl", "Enabled": True}


def test_history_is_on_demand_with_pitr_and_no_fixed_name(synthesized: Synthesized) -> None:
    """PAY_PER_REQUEST, PITR, no TableName (two stages can share an account)."""
    properties = _history(synthesized)["Properties"]
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert "TableName" not in properties
