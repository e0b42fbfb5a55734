"""DynamoDB Streams of the data tables -> domain events on the Custom Event Bus.

Business code that only writes its tables still gets real-time push: each stream record
becomes one event, checked and sent exactly as ``emit_many`` does (``build_entry`` then
``put_entries``, its two halves, so that one bad record is parked alone instead of refusing
the whole batch). Like every producer, it publishes with ``EventGroupId`` = the user and
``DeduplicationId`` = ``stream-<record eventID>``: a user's changes reach the browser in the
order the stream holds them (DynamoDB's write order per item), and a retried batch repeats
nothing. Which tables, and how their items read, is configuration (``table_mapping``):

- ``INSERT`` -> ``<family>Created``, ``MODIFY`` -> ``<family>Updated`` (data: the new image),
  ``REMOVE`` -> ``<family>Deleted`` with data ``{"id": ...}``, a TTL expiry included (the item
  is gone from the app's table, so it goes from the browser's view too);
- a family without created and deleted types (the health profile, one item per user):
  ``INSERT``/``MODIFY`` -> ``healthProfileUpdated``; ``REMOVE`` sends nothing.

Images are deserialized (numbers become int or float); the user attribute becomes the event's
``userId``, the id attribute ``data.id``, renamed attributes take the schema's names, and the
result is projected onto the event's schema (``schema_projection``): an attribute the schema
does not declare never reaches the bus, the history or a browser. Those left out are counted
(metric ``DroppedAttributes``), never logged. A record of an unknown table, or whose projected
item is still not a valid event, is logged, counted and dead-lettered, never silently dropped.
When the bus keeps refusing, the first refused record's ``SequenceNumber`` is reported
(``ReportBatchItemFailures``) and Lambda retries from there: delivery is at least once.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit
from boto3.dynamodb.types import TypeDeserializer

from healthcoach_realtime.dead_letters import MAX_BODY_BYTES
from healthcoach_realtime.emitter import DomainEvent, build_entry, put_entries
from healthcoach_realtime.exceptions import EmitError, InvalidEventError
from healthcoach_realtime.observability import MetricName, logger, metrics
from healthcoach_realtime.resources import DATA_TABLES, DataTable
from healthcoach_realtime.schema_projection import project_data
from healthcoach_realtime.table_mapping import family_types

if TYPE_CHECKING:
    from mypy_boto3_eventbridgev2 import EventBridgeV2Client
    from mypy_boto3_eventbridgev2.type_defs import PutEventsRequestEntryTypeDef

    from healthcoach_realtime.dead_letters import DeadLetterQueue

__all__ = [
    "BridgedRecord",
    "InvalidStreamRecord",
    "bridge_record",
    "bridge_stream_batch",
    "plain_image",
    "schema_names",
    "table_name_of",
]


@dataclass(frozen=True)
class InvalidStreamRecord:
    """A stream record that cannot become an event; ``reason`` names ids and rules, never data."""

    reason: str


@dataclass(frozen=True)
class BridgedRecord:
    """The event of one stream record, and how many attributes its schema left out of it."""

    event: DomainEvent
    dropped: int = 0


def table_name_of(record: Mapping[str, Any]) -> str:
    """The table in ``arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>``."""
    resource = str(record.get("eventSourceARN", "")).split(":", 5)[-1]
    parts = resource.split("/")
    return parts[1] if len(parts) > 1 and parts[0] == "table" else ""


class _ImageDeserializer(TypeDeserializer):
    """Lambda's events carry binary values as base64 text: keep them so (JSON can carry it)."""

    def _deserialize_b(self, value: Any) -> Any:
        return value if isinstance(value, str) else base64.b64encode(bytes(value)).decode("ascii")


_DESERIALIZER = _ImageDeserializer()


def plain_image(image: Mapping[str, Any]) -> dict[str, Any]:
    """A DynamoDB-JSON image as plain JSON values: Decimal -> int/float, sets -> sorted lists."""
    return {name: _plain(_DESERIALIZER.deserialize(value)) for name, value in image.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, set):
        return sorted(_plain(v) for v in value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def schema_names(item: Mapping[str, Any], table: DataTable) -> tuple[dict[str, Any], int]:
    """The item under the schema's names (id attribute -> ``id``, then ``table.renames``), and
    how many attributes were left out: one that keeps its name but is named like a rename's
    target (another system's ``id``, say) is not the configured one, so it never reaches ``data``.
    """
    targets = dict(table.renames)
    if table.id_attribute:
        targets[table.id_attribute] = "id"
    reserved = set(targets.values())
    renamed = {targets[name]: value for name, value in item.items() if name in targets}
    collisions = 0
    for name, value in item.items():
        if name in targets:
            continue
        if name in reserved:
            collisions += 1
        else:
            renamed[name] = value
    return renamed, collisions


def bridge_record(
    record: Mapping[str, Any], tables: Sequence[DataTable] = DATA_TABLES
) -> BridgedRecord | InvalidStreamRecord | None:
    """The event of one stream record; ``None`` when its family has no event for the change."""
    name = table_name_of(record)
    table = next((t for t in tables if t.name == name), None)
    if table is None:
        return InvalidStreamRecord(f"record of unknown table {name[:255]!r}")
    change = record.get("eventName")
    if change not in ("INSERT", "MODIFY", "REMOVE"):
        return InvalidStreamRecord(f"unknown eventName {str(change)[:50]!r}")
    types = family_types(table.record)
    if change == "REMOVE" and types.deleted is None:
        return None
    stream = record.get("dynamodb")
    stream = stream if isinstance(stream, Mapping) else {}
    # A removal's old image has the user and id even when they are not the table's keys.
    image_name = "NewImage" if change != "REMOVE" else "OldImage" if "OldImage" in stream else "Keys"
    image = stream.get(image_name)
    if not isinstance(image, dict):
        return InvalidStreamRecord(
            f"{change} record without {image_name} (stream view must include new images)"
        )
    try:
        item = plain_image(image)
    # AttributeError: an attribute value that is not a {"<type>": value} object, e.g. {"M": [1]}.
    except (TypeError, ValueError, ArithmeticError, AttributeError) as exc:
        return InvalidStreamRecord(f"{image_name} cannot be deserialized: {type(exc).__name__}")
    user_id = item.pop(table.user_attribute, None)
    if not isinstance(user_id, str):
        return InvalidStreamRecord(f"{image_name} has no string {table.user_attribute!r}")
    # The stream record's id is the same on every retry of its batch: one event, not two.
    record_id = record.get("eventID")
    event_id = f"stream-{record_id}"[:128] if isinstance(record_id, str) and record_id else None
    if change == "REMOVE" and types.deleted is not None:
        data = {"id": item.get(table.id_attribute)}
        return BridgedRecord(DomainEvent(user_id, types.deleted, data, event_id))
    event_type = types.created if change == "INSERT" and types.created else types.updated
    named, collisions = schema_names(item, table)
    projected, dropped = project_data(event_type, named)
    return BridgedRecord(DomainEvent(user_id, event_type, projected, event_id), collisions + dropped)


def bridge_stream_batch(
    stream_event: Mapping[str, Any],
    *,
    client: EventBridgeV2Client,
    bus_arn: str,
    dead_letters: DeadLetterQueue,
    tables: Sequence[DataTable] = DATA_TABLES,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Emit one event per record; returns ``{"batchItemFailures": [...]}`` for Lambda."""
    records: list[Mapping[str, Any]] = list(stream_event.get("Records", []))
    entries: list[PutEventsRequestEntryTypeDef] = []
    entry_positions: list[int] = []
    failed_positions: list[int] = []
    invalid = dropped = 0
    for position, record in enumerate(records):
        mapped = bridge_record(record, tables)
        if mapped is None:
            logger.debug(
                "removal without an event type: none sent", extra={"event_id": record.get("eventID")}
            )
            continue
        if isinstance(mapped, BridgedRecord):
            dropped += mapped.dropped
            try:
                entries.append(build_entry(mapped.event))
                entry_positions.append(position)
                continue
            except InvalidEventError as exc:
                reason = str(exc)
        else:
            reason = mapped.reason
        invalid += 1
        if not _dead_letter(dead_letters, record, reason):
            failed_positions.append(position)
    try:
        put_entries(entries, client=client, bus_arn=bus_arn, sleep=sleep)
        emitted = len(entries)
    except EmitError as exc:
        logger.warning(
            "PutEvents failed; Lambda retries the batch from the first refused record",
            extra={"error": str(exc)},
        )
        refused = [entry_positions[int(f["index"])] for f in exc.failed]
        failed_positions += refused
        emitted = len(entries) - len(refused)
    metrics.add_metric(name=MetricName.EVENTS_EMITTED, unit=MetricUnit.Count, value=emitted)
    metrics.add_metric(name=MetricName.INVALID_EVENTS, unit=MetricUnit.Count, value=invalid)
    # How many, never which values: the attributes were left out because they are the app's own.
    metrics.add_metric(name=MetricName.DROPPED_ATTRIBUTES, unit=MetricUnit.Count, value=dropped)
    logger.info(
        "stream batch bridged",
        extra={
            "records": len(records),
            "emitted": emitted,
            "invalid": invalid,
            "dropped_attributes": dropped,
        },
    )
    if not failed_positions:
        return {"batchItemFailures": []}
    first = records[min(failed_positions)]
    return {"batchItemFailures": [{"itemIdentifier": first.get("dynamodb", {}).get("SequenceNumber", "")}]}


def _dead_letter(dead_letters: DeadLetterQueue, record: Mapping[str, Any], reason: str) -> bool:
    """Park one record, its images dropped if they would make it too big for SQS."""
    body = json.dumps(record, separators=(",", ":"))
    if len(body.encode("utf-8")) > MAX_BODY_BYTES:
        stream = {
            k: v for k, v in (record.get("dynamodb") or {}).items() if k not in ("NewImage", "OldImage")
        }
        body = json.dumps({**record, "dynamodb": stream, "imagesOmitted": True}, separators=(",", ":"))
    return dead_letters.park(body, reason, record_id=str(record.get("eventID", "")))
