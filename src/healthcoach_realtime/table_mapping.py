"""Which data tables the stream bridge reads, and how their items map to events: configuration.

An existing app's tables keep their own names, keys and attribute names. Each is described by
its name, its event family and, where they differ from ours, the attribute holding the user id,
the one holding the item id, and renames from the table's attribute names to the schema's. The
same JSON object serves the deploy configuration (context ``dataTableStreamArns``), the local
stack (``hc-realtime dev --data-tables FILE``) and the stream bridge's environment
(``DATA_TABLE_MAPPINGS``)::

    {
      "healthcoach_food_logs": "arn:aws:dynamodb:...:table/healthcoach_food_logs/stream/...",
      "FoodEntries-prod": {
        "streamArn": "arn:aws:dynamodb:...:table/FoodEntries-prod/stream/...",
        "family": "foodLog",
        "userAttribute": "ownerSub",
        "idAttribute": "entryId",
        "renames": {"kcal": "calories", "title": "name"}
      }
    }

A bare stream ARN stands for one of our own tables (``resources.DATA_TABLES``) as it is. In an
object, a key left out takes that table's value, else the family's: ``userId``, and ``id``
for every family but ``healthProfile`` (one item per user: no item id). Parsing reports every
problem at once, each naming the table and the key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from healthcoach_realtime.catalogue import EVENT_TYPES, SOURCES, load_schema
from healthcoach_realtime.exceptions import ConfigurationError
from healthcoach_realtime.resources import DATA_TABLES, DataTable

__all__ = [
    "DEFAULT_SOURCES",
    "FAMILIES",
    "MAPPING_ENV",
    "MAX_MAPPING_ENV_BYTES",
    "STREAM_ARN",
    "TableMappingError",
    "TableSource",
    "decode_tables",
    "encode_tables",
    "family_types",
    "mapping_env_problem",
    "parse_table_sources",
    "read_table_sources",
]

# The stream bridge's environment variable holding the mapping (``encode_tables``).
MAPPING_ENV = "DATA_TABLE_MAPPINGS"
# Lambda allows 4 KB for all of a function's variables, names and values; the bridge's others
# (bus ARN and name, dead-letter queue URL, Powertools' two) take under 400 bytes.
MAX_MAPPING_ENV_BYTES = 3072
FAMILIES: tuple[str, ...] = tuple(sorted(SOURCES))
STREAM_ARN = re.compile(
    r"^arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:\d{12}:table/(?P<table>[A-Za-z0-9_.-]{3,255})/stream/\S+$"
)
_TABLE_NAME = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")
_KEYS = ("streamArn", "family", "userAttribute", "idAttribute", "renames", "definition")
# DynamoDB allows longer names for non-key attributes; 255 keeps the mapping small and sane.
_MAX_ATTRIBUTE_NAME = 255


class TableMappingError(ValueError):
    """The mapping is malformed; ``problems`` lists every one (the message too)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("data tables:\n  - " + "\n  - ".join(problems))


@dataclass(frozen=True)
class TableSource:
    """One configured data table: its mapping, its stream and (local stack only) its definition.

    ``definition`` is a CreateTable-shaped object (``KeySchema``, ``AttributeDefinitions``,
    indexes) the local stack creates the table from; deployed, the table already exists.
    """

    table: DataTable
    stream_arn: str = ""
    definition: Mapping[str, Any] | None = None


# Our own tables as they are: what the local stack creates unless given a mapping file.
DEFAULT_SOURCES: tuple[TableSource, ...] = tuple(TableSource(table) for table in DATA_TABLES)


@dataclass(frozen=True)
class FamilyTypes:
    """The event types of a family: ``created``/``deleted`` are None when the catalogue has none."""

    created: str | None
    updated: str
    deleted: str | None


def family_types(family: str) -> FamilyTypes:
    """``foodLog`` -> foodLogCreated / foodLogUpdated / foodLogDeleted; ``healthProfile`` has
    only healthProfileUpdated (a new profile is an update, a removed one has no event)."""

    def known(name: str) -> str | None:
        return name if name in EVENT_TYPES else None

    return FamilyTypes(known(f"{family}Created"), f"{family}Updated", known(f"{family}Deleted"))


def parse_table_sources(
    raw: Any, *, where: str, require_stream_arn: bool
) -> tuple[tuple[TableSource, ...], list[str]]:
    """The tables of a mapping (a JSON object, or its text) and every problem found in it."""
    problems: list[str] = []
    if raw in (None, ""):
        return (), problems
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return (), [f"the data table mapping is not valid JSON (from {where})"]
    if not isinstance(raw, Mapping):
        return (), [f"the data table mapping must be a JSON object of table name -> ... (from {where})"]
    sources: list[TableSource] = []
    for name, value in raw.items():
        found: list[str] = []
        source = _source(str(name), value, found.append, require_stream_arn=require_stream_arn)
        problems += [f"data table {str(name)[:255]!r}: {p} (from {where})" for p in found]
        if source is not None and not found:
            sources.append(source)
    return tuple(sources), problems


def read_table_sources(raw: Any, *, where: str, require_stream_arn: bool = False) -> tuple[TableSource, ...]:
    """``parse_table_sources``, raising ``TableMappingError`` when anything is wrong."""
    sources, problems = parse_table_sources(raw, where=where, require_stream_arn=require_stream_arn)
    if problems:
        raise TableMappingError(problems)
    return sources


def encode_tables(tables: Iterable[DataTable]) -> str:
    """The compact JSON the stream bridge reads from ``DATA_TABLE_MAPPINGS``: defaults left out."""
    encoded: dict[str, dict[str, Any]] = {}
    for table in tables:
        entry: dict[str, Any] = {"family": table.record}
        baseline = _defaults(table.name, table.record)
        if table.user_attribute != baseline.user_attribute:
            entry["userAttribute"] = table.user_attribute
        if table.id_attribute != baseline.id_attribute:
            entry["idAttribute"] = table.id_attribute or None
        if table.renames:
            entry["renames"] = dict(table.renames)
        encoded[table.name] = entry
    return json.dumps(encoded, separators=(",", ":"))


def decode_tables(text: str | None) -> tuple[DataTable, ...]:
    """The tables in ``DATA_TABLE_MAPPINGS``; ours (``DATA_TABLES``) when it is unset.

    Raises ``ConfigurationError`` naming every problem: the bridge must not start guessing.
    """
    if text is None:
        return DATA_TABLES
    sources, problems = parse_table_sources(text, where=f"env {MAPPING_ENV}", require_stream_arn=False)
    if problems:
        raise ConfigurationError("; ".join(problems))
    return tuple(source.table for source in sources)


def mapping_env_problem(tables: Iterable[DataTable]) -> str | None:
    """Why the mapping would not fit in the bridge's environment, or None when it does."""
    size = len(MAPPING_ENV) + len(encode_tables(tables).encode("utf-8"))
    if size <= MAX_MAPPING_ENV_BYTES:
        return None
    return (
        f"the data table mapping takes {size} bytes of the stream bridge's environment, more than "
        f"{MAX_MAPPING_ENV_BYTES} (Lambda allows 4 KB for all of a function's variables): "
        "shorten attribute names or drop renames whose names already match"
    )


def _defaults(name: str, family: str) -> DataTable:
    """What a table's mapping is when it names only its family."""
    ours = next((t for t in DATA_TABLES if t.name == name and t.record == family), None)
    if ours is not None:
        return ours
    id_attribute = "id" if family_types(family).deleted else ""
    return DataTable(name=name, record=family, id_attribute=id_attribute)


def _source(
    name: str, value: Any, problem: Callable[[str], None], *, require_stream_arn: bool
) -> TableSource | None:
    """One table's entry; problems go to ``problem`` (a callable taking the message)."""
    if not _TABLE_NAME.match(name):
        problem("not a DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -)")
        return None
    ours = next((t for t in DATA_TABLES if t.name == name), None)
    if isinstance(value, str):
        value = {"streamArn": value}
    if not isinstance(value, Mapping):
        problem("must be a stream ARN or an object with streamArn, family, userAttribute, ...")
        return None
    unknown = sorted(str(k) for k in value if k not in _KEYS)
    if unknown:
        problem(f"unknown key(s) {', '.join(map(repr, unknown))}; known: {', '.join(_KEYS)}")
    stream_arn = _stream_arn(name, value.get("streamArn"), problem, required=require_stream_arn)
    family = value.get("family", ours.record if ours else None)
    if family is None:
        ours_names = ", ".join(t.name for t in DATA_TABLES)
        problem(f"family missing (it is none of our tables: {ours_names}): one of {', '.join(FAMILIES)}")
        return None
    if family not in FAMILIES:
        problem(f"unknown family {str(family)[:50]!r}; known: {', '.join(FAMILIES)}")
        return None
    defaults = _defaults(name, str(family))
    user_attribute = _attribute(value, "userAttribute", defaults.user_attribute, problem)
    id_attribute = _attribute(value, "idAttribute", defaults.id_attribute, problem, optional=True)
    types = family_types(str(family))
    if types.deleted and not id_attribute:
        problem(f"idAttribute missing: removals become {types.deleted} with the item's id")
    if id_attribute and id_attribute == user_attribute:
        problem(f"idAttribute and userAttribute are both {id_attribute!r}")
    renames = _renames(value.get("renames"), str(family), (user_attribute, id_attribute), problem)
    definition = value.get("definition")
    if definition is not None and not isinstance(definition, Mapping):
        problem("definition must be an object (CreateTable's KeySchema, AttributeDefinitions, ...)")
        definition = None
    table = DataTable(name, str(family), user_attribute, id_attribute, renames)
    return TableSource(table=table, stream_arn=stream_arn, definition=definition)


def _stream_arn(name: str, arn: Any, problem: Callable[[str], None], *, required: bool) -> str:
    if arn is None or arn == "":
        if required:
            problem("streamArn missing (aws dynamodb describe-table ... --query Table.LatestStreamArn)")
        return ""
    match = STREAM_ARN.match(str(arn))
    if match is None:
        problem(f"malformed stream ARN {str(arn)[:300]!r}")
        return ""
    if match["table"] != name:
        problem(f"the stream ARN belongs to table {match['table']!r}")
        return ""
    return str(arn)


def _attribute(
    value: Mapping[str, Any],
    key: str,
    default: str,
    problem: Callable[[str], None],
    *,
    optional: bool = False,
) -> str:
    """An attribute name; ``None`` (or "") means none, allowed only where ``optional``."""
    if key not in value:
        return default
    given = value[key]
    if given in (None, "") and optional:
        return ""
    if not isinstance(given, str) or not 0 < len(given) <= _MAX_ATTRIBUTE_NAME:
        problem(f"{key} must be an attribute name (1-{_MAX_ATTRIBUTE_NAME} characters)")
        return default
    return given


def _renames(
    raw: Any, family: str, keys: tuple[str, str], problem: Callable[[str], None]
) -> tuple[tuple[str, str], ...]:
    """``{"table name": "schema name"}`` checked against the family's schemas."""
    if raw is None:
        return ()
    if not isinstance(raw, Mapping):
        problem('renames must be an object {"<table attribute>": "<schema property>"}')
        return ()
    declared = _declared_properties(family)
    renames: list[tuple[str, str]] = []
    targets: set[str] = set()
    for source, target in raw.items():
        if not isinstance(target, str) or not 0 < len(str(source)) <= _MAX_ATTRIBUTE_NAME:
            problem(f"rename {str(source)[:80]!r}: give a schema property name")
            continue
        if source in keys:
            problem(f"rename {source!r}: it is the user or id attribute, which are mapped already")
        elif target == "id":
            problem(f"rename {source!r} -> 'id': name the item id attribute with idAttribute")
        elif target not in declared:
            problem(
                f"rename {source!r} -> {target[:80]!r}: no such property in the {family} events' schema;"
                f" known: {', '.join(sorted(declared - {'id'}))}"
            )
        elif target in targets:
            problem(f"rename {source!r} -> {target!r}: another attribute is renamed to it already")
        else:
            targets.add(target)
            renames.append((str(source), target))
    return tuple(renames)


def _declared_properties(family: str) -> set[str]:
    """The ``data`` properties the family's created and updated events declare."""
    types = family_types(family)
    declared: set[str] = set()
    for event_type in filter(None, (types.created, types.updated)):
        properties = load_schema(event_type).get("properties", {}).get("data", {}).get("properties", {})
        declared.update(properties)
    return declared
