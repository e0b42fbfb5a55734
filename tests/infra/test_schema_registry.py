"""The Schema Registry: one JSONSchemaDraft4 schema per file of schemas/, content unchanged."""

from __future__ import annotations

import json

from healthcoach_infra.schema_registry import schema_name
from healthcoach_realtime.catalogue import schema_dir
from tests.infra.conftest import STAGE, Synthesized


def test_one_registry_for_the_stage(synthesized: Synthesized) -> None:
    """A registry named after the stage."""
    synthesized.template.has_resource_properties(
        "AWS::EventSchemas::Registry", {"RegistryName": f"healthcoach-realtime-{STAGE}"}
    )


def test_one_draft4_schema_per_file(synthesized: Synthesized) -> None:
    """Every file in schemas/ is registered as JSONSchemaDraft4 under ``<source>@<type>``."""
    schemas = {
        s["Properties"]["SchemaName"]: s["Properties"]
        for s in synthesized.of_type("AWS::EventSchemas::Schema").values()
    }
    files = sorted(schema_dir().glob("*.json"))
    assert sorted(schemas) == sorted(schema_name(p.stem) for p in files)
    assert {s["Type"] for s in schemas.values()} == {"JSONSchemaDraft4"}


def test_schema_content_is_the_file(synthesized: Synthesized) -> None:
    """The registered content parses to exactly the file's JSON."""
    schemas = {
        s["Properties"]["SchemaName"]: s["Properties"]
        for s in synthesized.of_type("AWS::EventSchemas::Schema").values()
    }
    for path in schema_dir().glob("*.json"):
        registered = json.loads(schemas[schema_name(path.stem)]["Content"])
        assert registered == json.loads(path.read_text(encoding="utf-8"))


def test_each_schema_describes_the_whole_detail(synthesized: Synthesized) -> None:
    """A producer's code binding is the bus entry's ``Detail``: userId and data (required) and eventId."""
    for schema in synthesized.of_type("AWS::EventSchemas::Schema").values():
        content = json.loads(schema["Properties"]["Content"])
        name = schema["Properties"]["SchemaName"]
        assert (content["type"], set(content["properties"])) == ("object", {"userId", "data", "eventId"}), (
            name
        )
        assert set(content["required"]) == {"userId", "data"}, name
        assert (content["properties"]["userId"]["type"], content["properties"]["data"]["type"]) == (
            "string",
            "object",
        ), name
