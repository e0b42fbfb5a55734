"""``hc-realtime dev --data-tables FILE``: the local stack on an app's own tables.

The file holds the same JSON object as the deploy configuration's ``dataTableStreamArns``
(``table_mapping``), so a project can keep one mapping for both; each table may add a
``definition`` (CreateTable's ``KeySchema``, ``AttributeDefinitions`` and indexes, or what
``aws dynamodb describe-table`` prints) for keys other than the mapping's user and id
attributes. Stream ARNs in it are ignored: the local stack makes its own streams::

    {"FoodEntries": {"family": "foodLog", "userAttribute": "ownerSub", "idAttribute": "entryId",
                     "renames": {"kcal": "calories"},
                     "definition": {"KeySchema": [...], "AttributeDefinitions": [...]}}}
"""

from __future__ import annotations

from pathlib import Path

from healthcoach_realtime.local.provision import data_table_request
from healthcoach_realtime.table_mapping import TableMappingError, TableSource, parse_table_sources

__all__ = ["load_data_tables_file"]


def load_data_tables_file(path: str | Path) -> tuple[TableSource, ...]:
    """The tables a mapping file describes; ``TableMappingError`` lists every problem in it."""
    where = f"file {path}"
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise TableMappingError([f"cannot read {where}: {exc.strerror or exc}"]) from None
    sources, problems = parse_table_sources(text, where=where, require_stream_arn=False)
    if not sources and not problems:
        problems.append(f"no data tables in {where}")
    for source in sources:
        try:
            data_table_request(source.table, source.definition)
        except ValueError as exc:
            problems.append(f"{exc} (from {where})")
    if problems:
        raise TableMappingError(problems)
    return sources
