"""The state tables are defined twice: by CDK for AWS (``infra/``) and by boto3 for the emulator
(``local/provision.py``, which the local stack and the tests use). Both must give the same keys,
attributes, indexes and TTL, or the code tested locally would run against another table in AWS."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

from healthcoach_realtime.local.provision import (
    TTL_ATTRIBUTE,
    connections_table_request,
    history_table_request,
)
from tests.infra.conftest import Synthesized

# Construct attribute on the stack -> the builder of the emulator's CreateTable input.
TABLES: dict[str, Callable[[str], Any]] = {
    "connections": connections_table_request,
    "history": history_table_request,
}
INDEX_KINDS = ("GlobalSecondaryIndexes", "LocalSecondaryIndexes")


def _deployed(synthesized: Synthesized, table: str) -> dict[str, Any]:
    """The CloudFormation properties of the stack's table ``table``."""
    construct = getattr(synthesized.stack, table).table
    properties: dict[str, Any] = synthesized.resources[synthesized.logical_id(construct)]["Properties"]
    return properties


def _shape(definition: Mapping[str, Any]) -> dict[str, Any]:
    """What both definitions must agree on, in a form where order means what it means to
    DynamoDB: key schemas are ordered (HASH, then RANGE), attribute definitions and indexes not."""
    return {
        "BillingMode": definition.get("BillingMode"),
        "KeySchema": list(definition["KeySchema"]),
        "AttributeDefinitions": sorted(
            (a["AttributeName"], a["AttributeType"]) for a in definition["AttributeDefinitions"]
        ),
        **{
            kind: {
                index["IndexName"]: (list(index["KeySchema"]), dict(index["Projection"]))
                for index in definition.get(kind, [])
            }
            for kind in INDEX_KINDS
        },
    }


@pytest.mark.parametrize("table", sorted(TABLES))
def test_the_emulator_table_matches_the_deployed_one(synthesized: Synthesized, table: str) -> None:
    """Key schema, attribute definitions, billing mode, and each index's name, keys and
    projection: the same in the template and in what ``provision`` creates."""
    deployed = _shape(_deployed(synthesized, table))
    local = _shape(TABLES[table](f"local-{table}"))
    assert deployed == local
    assert any(deployed[kind] for kind in INDEX_KINDS), "each state table has an index to compare"


@pytest.mark.parametrize("table", sorted(TABLES))
def test_the_emulator_table_expires_rows_on_the_deployed_ttl_attribute(
    synthesized: Synthesized, table: str
) -> None:
    """TTL is on, on the attribute ``provision`` turns it on for (the code writes ``ttl``)."""
    assert _deployed(synthesized, table)["TimeToLiveSpecification"] == {
        "AttributeName": TTL_ATTRIBUTE,
        "Enabled": True,
    }
