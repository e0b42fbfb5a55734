"""PutEvents entries: their checks, their size, and the event a subscriber sees (pure).

A published entry becomes ``{"Data": envelope, "Metadata": {}, "SystemMetadata": {...}}``, the
``$events`` item JSONata expressions see and what filters match per scope:

- ``Data``: the classic envelope ``version, id, detail-type, source, account, time, region,
  resources, detail`` (``detail`` parsed; ``time`` from the entry's ``Time`` or the ingestion
  time, ISO 8601 to the second with ``Z``; ``account`` the publisher's);
- ``Metadata``: empty (PutEvents carries none);
- ``SystemMetadata``: strings ``aws:EventId``, ``aws:Source``, ``aws:DetailType``,
  ``aws:DeliveryType`` (``LIVE``), ``aws:IngestionTime`` (ISO 8601, milliseconds, ``Z``),
  ``aws:SequenceNumber``, ``ContentType``; ``EventGroupId`` and ``DeduplicationId`` only when
  the publisher set them.

An entry's size is EventBridge's "PutEvents entry size": the UTF-8 lengths of ``Source``,
``DetailType``, ``Detail`` and each resource, plus 14 when ``Time`` is set.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from healthcoach_realtime.local.eventsv2.validation import check, shape, summarize

__all__ = [
    "CONTENT_TYPE",
    "MAX_REQUEST_BYTES",
    "EntryProblem",
    "PublishedEvent",
    "build_event",
    "content_hash",
    "entry_problem",
    "entry_size",
    "iso_millis",
    "iso_seconds",
    "parse_detail",
    "request_size",
]

MAX_REQUEST_BYTES = 1_048_576
CONTENT_TYPE = "application/eventbridge+json"
_TIME_BYTES = 14


@dataclass(frozen=True, slots=True)
class EntryProblem:
    """Why one entry is refused: its ``ErrorCode`` and ``ErrorMessage``."""

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class PublishedEvent:
    """One event as the bus keeps it; ``view`` is what subscribers see (never mutate it)."""

    event_id: str
    sequence_number: int
    bus_arn: str
    account: str
    group_id: str | None
    ingestion_time: float
    view: Mapping[str, Any]

    @property
    def data(self) -> Mapping[str, Any]:
        """The envelope (the ``Data`` scope)."""
        data: Mapping[str, Any] = self.view["Data"]
        return data


def entry_size(entry: Mapping[str, Any]) -> int:
    """EventBridge's size of one PutEvents entry, in bytes."""
    size = sum(_utf8_len(entry.get(name)) for name in ("Source", "DetailType", "Detail"))
    resources = entry.get("Resources")
    if isinstance(resources, list):
        size += sum(_utf8_len(resource) for resource in resources)
    if entry.get("Time") is not None:
        size += _TIME_BYTES
    return size


def request_size(entries: Sequence[Mapping[str, Any]]) -> int:
    """The size of a whole PutEvents request (its entries' sizes added)."""
    return sum(entry_size(entry) for entry in entries if isinstance(entry, Mapping))


def entry_problem(entry: Any) -> EntryProblem | None:
    """Why the service would refuse this entry, or ``None``: the model's constraints, the
    reserved ``aws.`` sources, and a ``Detail`` that must be a JSON object."""
    if not isinstance(entry, Mapping):
        return EntryProblem("InvalidInput", "The entry must be a structure")
    violations = check(shape("PutEventsRequestEntry"), entry, "Entry")
    if violations:
        return EntryProblem("InvalidInput", summarize(violations))
    if entry["Source"].startswith("aws."):
        return EntryProblem(
            "InvalidInput", f"Source {entry['Source']!r} is reserved: 'aws.' sources are AWS's own"
        )
    if entry.get("Detail") is not None and parse_detail(entry["Detail"]) is None:
        return EntryProblem("MalformedDetail", "Detail must be a JSON object")
    return None


def parse_detail(detail: str | None) -> dict[str, Any] | None:
    """The entry's ``Detail`` as an object (``{}`` when absent), or ``None`` when it is not one."""
    if detail is None:
        return {}
    try:
        parsed = json.loads(detail)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def content_hash(entry: Mapping[str, Any]) -> str:
    """A content-based deduplication id: sha256 of the entry's content (the group aside)."""
    time = entry.get("Time")
    content = {
        "Source": entry.get("Source"),
        "DetailType": entry.get("DetailType"),
        "Detail": entry.get("Detail"),
        "Resources": entry.get("Resources") or [],
        "Time": iso_millis(time.timestamp()) if isinstance(time, datetime) else None,
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def build_event(
    entry: Mapping[str, Any],
    detail: Mapping[str, Any],
    *,
    event_id: str,
    sequence_number: int,
    bus_arn: str,
    account: str,
    region: str,
    ingestion_time: float,
) -> PublishedEvent:
    """The event a valid entry becomes on the bus."""
    system = entry.get("SystemMetadata") or {}
    time = entry.get("Time")
    envelope = {
        "version": "0",
        "id": event_id,
        "detail-type": entry["DetailType"],
        "source": entry["Source"],
        "account": account,
        "time": iso_seconds(time.timestamp() if isinstance(time, datetime) else ingestion_time),
        "region": region,
        "resources": list(entry.get("Resources") or []),
        "detail": detail,
    }
    system_metadata = {
        "aws:EventId": event_id,
        "aws:Source": entry["Source"],
        "aws:DetailType": entry["DetailType"],
        "aws:DeliveryType": "LIVE",
        "aws:IngestionTime": iso_millis(ingestion_time),
        "aws:SequenceNumber": str(sequence_number),
        "ContentType": CONTENT_TYPE,
    }
    for name in ("EventGroupId", "DeduplicationId"):
        if system.get(name) is not None:
            system_metadata[name] = system[name]
    return PublishedEvent(
        event_id=event_id,
        sequence_number=sequence_number,
        bus_arn=bus_arn,
        account=account,
        group_id=system.get("EventGroupId"),
        ingestion_time=ingestion_time,
        view={"Data": envelope, "Metadata": {}, "SystemMetadata": system_metadata},
    )


def iso_seconds(epoch: float) -> str:
    """``2025-01-02T03:04:05Z``, the envelope's ``time``."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_millis(epoch: float) -> str:
    """``2025-01-02T03:04:05.678Z``."""
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _utf8_len(value: Any) -> int:
    return len(value.encode("utf-8")) if isinstance(value, str) else 0
