"""The EventBridge Schema Registry: the catalogue's schemas, published for the teams that emit.

Each file of ``schemas/`` is registered as is (draft-04, hence ``JSONSchemaDraft4``) under the
name EventBridge gives discovered schemas, ``<source>@<DetailType>``, so code bindings and the
console find them next to the bus's events.
"""

from __future__ import annotations

import json
from pathlib import Path

from aws_cdk import aws_eventschemas as eventschemas
from constructs import Construct

from healthcoach_realtime.catalogue import source_for

__all__ = ["EventSchemaRegistry", "schema_name"]


def schema_name(event_type: str) -> str:
    """``foodLogCreated`` -> ``healthcoach.food-logs@foodLogCreated``."""
    return f"{source_for(event_type)}@{event_type}"


class EventSchemaRegistry(Construct):
    """One registry, one schema per file in ``schema_dir``."""

    def __init__(self, scope: Construct, construct_id: str, *, registry_name: str, schema_dir: Path) -> None:
        super().__init__(scope, construct_id)
        self.registry = eventschemas.CfnRegistry(
            self,
            "Registry",
            registry_name=registry_name,
            description="HealthCoach Realtime domain events (generated from schemas/)",
        )
        self.schemas: dict[str, eventschemas.CfnSchema] = {}
        for path in sorted(schema_dir.glob("*.json")):
            event_type = path.stem
            content = json.loads(path.read_text(encoding="utf-8"))
            schema = eventschemas.CfnSchema(
                self,
                event_type,
                registry_name=self.registry.attr_registry_name,
                schema_name=schema_name(event_type),
                type="JSONSchemaDraft4",
                content=json.dumps(content, separators=(",", ":")),
                description=str(content.get("description", event_type))[:256],
            )
            self.schemas[event_type] = schema
