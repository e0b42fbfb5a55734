"""``emit()``: put validated domain events on the Custom Event Bus (EventBridge EventsV2).

Business code never talks to WebSockets: it emits an event, the dispatcher delivers it to every
open connection of the user. Bad events never reach the bus: validation (the catalogue's
schema, the browser frame's size) happens here, before anything is sent::

    from healthcoach_realtime import emit, emit_many
    from healthcoach_realtime.emitter import DomainEvent

    event_id = emit("user-123", "foodLogCreated", {"id": "f1", "name": "Apple", "calories": 95})
    ids = emit_many([DomainEvent("user-123", "foodLogDeleted", {"id": "f0"}),
                     ("user-123", "healthProfileUpdated", {"weightKg": 70})])

Each entry carries ``SystemMetadata.EventGroupId`` = the user id: the bus's FIFO subscriber
delivers one group's events in the order the bus took them in, so a user's events reach the
browser in the order they were emitted. A producer's stable ``event_id`` travels as
``DeduplicationId`` too, so the bus itself drops a repeat within five minutes (``DEDUPLICATED``
counts as success).

PutEvents takes at most 100 entries and 1 MB per call and accepts or refuses each entry on its
own. A refused entry re-sent later would land behind a later event of its user that the same
call published, so a call carries at most one event per user: a user's events go out in
*waves* (the first event of every user, then the second, ...), each wave chunked into calls,
and a wave starts only once the one before it is on the bus. Refused entries are re-sent with
exponential backoff and full jitter, a bounded number of times.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, NoReturn

from botocore.exceptions import BotoCoreError, ClientError

from healthcoach_realtime.catalogue import source_for, validate_detail
from healthcoach_realtime.exceptions import (
    ConfigurationError,
    EmitError,
    EventTooLargeError,
    InvalidEventError,
)
from healthcoach_realtime.frames import MAX_MESSAGE_BYTES, encode_event
from healthcoach_realtime.retry import RetryPolicy

if TYPE_CHECKING:
    from mypy_boto3_eventbridgev2 import EventBridgeV2Client
    from mypy_boto3_eventbridgev2.type_defs import PutEventsRequestEntryTypeDef

__all__ = [
    "EMIT_RETRY",
    "FRAME_HEADROOM_BYTES",
    "MAX_ENTRIES_PER_CALL",
    "MAX_REQUEST_BYTES",
    "DomainEvent",
    "EventInput",
    "build_entry",
    "chunk_entries",
    "clear_bus_lookups",
    "emit",
    "emit_many",
    "entry_size",
    "put_entries",
    "resolve_bus_arn",
    "waves",
]

log = logging.getLogger(__name__)

MAX_ENTRIES_PER_CALL = 100
MAX_REQUEST_BYTES = 1024 * 1024
# The dispatcher adds ``id`` (36), ``time`` (~24) and may add ``seq``: keep room for them.
FRAME_HEADROOM_BYTES = 256
# Per-entry codes worth another try (the service's own faults and throttling); any other is permanent.
RETRYABLE_ERROR_CODES = frozenset({"InternalFailure", "InternalException", "ThrottlingException"})
# Business code waits for emit(): a few tries within about three seconds at worst.
EMIT_RETRY = RetryPolicy(attempts=4, base_delay=0.1, max_delay=2.0)


@dataclass(frozen=True)
class DomainEvent:
    """One event for one user: ``type`` is a catalogue event type, ``data`` its payload."""

    user_id: str
    type: str
    data: Mapping[str, Any]
    # A stable id for a change that may be emitted twice (retries of a stream batch): browsers
    # see it as the frame's ``id`` (so they drop the repeat), it keeps one seq, and the bus
    # drops a repeat within five minutes. Default: none, the bus's event id is used.
    event_id: str | None = None


# ``emit_many`` takes DomainEvents or plain ``(user_id, type, data)`` tuples.
EventInput = DomainEvent | tuple[str, str, Mapping[str, Any]]


def emit(
    user_id: str,
    event_type: str,
    data: Mapping[str, Any],
    *,
    client: EventBridgeV2Client | None = None,
    bus_arn: str | None = None,
    bus_name: str | None = None,
    event_id: str | None = None,
) -> str:
    """Validate one event and put it on the bus; returns the event id browsers will see
    (``event_id`` when given: pass a stable one to emit the same change safely twice, else
    the bus's).

    The bus is ``bus_arn``, else the bus named ``bus_name``, else ``EVENT_BUS_ARN``, else the bus
    named ``EVENT_BUS_NAME`` (found with ``ListEventBuses`` once per process).
    Raises ``InvalidEventError`` (naming field and rule), ``EventTooLargeError`` or ``EmitError``.
    """
    event = DomainEvent(user_id, event_type, data, event_id)
    return emit_many([event], client=client, bus_arn=bus_arn, bus_name=bus_name)[0]


def emit_many(
    events: Iterable[EventInput],
    *,
    client: EventBridgeV2Client | None = None,
    bus_arn: str | None = None,
    bus_name: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
    retry: RetryPolicy = EMIT_RETRY,
) -> list[str]:
    """Validate every event first (nothing is sent if one is invalid), then put them all.

    Returns the event ids in input order (an event's own ``event_id`` when it has one). An
    invalid event's error carries a note naming its index (``events[3]``).
    """
    entries: list[PutEventsRequestEntryTypeDef] = []
    own_ids: list[str | None] = []
    for index, event in enumerate(_as_event(e) for e in events):
        try:
            entries.append(build_entry(event))
        except InvalidEventError as exc:
            exc.add_note(f"events[{index}]")
            raise
        own_ids.append(event.event_id)
    if client is None:
        from healthcoach_realtime.clients import eventbridge_client

        client = eventbridge_client()
    arn = bus_arn or resolve_bus_arn(client, bus_name)
    sent = put_entries(entries, client=client, bus_arn=arn, sleep=sleep, retry=retry)
    return [own or bus_id for own, bus_id in zip(own_ids, sent, strict=True)]


def _as_event(event: EventInput) -> DomainEvent:
    return event if isinstance(event, DomainEvent) else DomainEvent(*event)


def resolve_bus_arn(client: EventBridgeV2Client, bus_name: str | None = None) -> str:
    """The bus to publish to: ``bus_name``'s ARN, else ``EVENT_BUS_ARN``, else ``EVENT_BUS_NAME``'s.

    A name is looked up with ``ListEventBuses`` once per process and name (an ARN ends in an id
    the service chooses, so it cannot be derived from the name).
    """
    from healthcoach_realtime.settings import get_settings

    settings = get_settings()
    if bus_name is None and settings.event_bus_arn:
        return settings.event_bus_arn
    return _arn_of_bus(client, bus_name or settings.event_bus_name)


def clear_bus_lookups() -> None:
    """Forget the bus ARNs looked up by name (tests that recreate a bus of the same name)."""
    _arn_of_bus.cache_clear()


@cache
def _arn_of_bus(client: EventBridgeV2Client, name: str) -> str:
    request: dict[str, Any] = {"NamePrefix": name}
    while True:
        page = client.list_event_buses(**request)
        for bus in page.get("EventBuses", []):
            if bus.get("Name") == name and bus.get("EventBusArn"):
                return bus["EventBusArn"]
        if not page.get("NextToken"):
            break
        request["NextToken"] = page["NextToken"]
    raise ConfigurationError(f"no event bus named {name!r}: set EVENT_BUS_ARN (the stack output EventBusArn)")


def build_entry(event: DomainEvent) -> PutEventsRequestEntryTypeDef:
    """The PutEvents entry of a valid event; raises ``InvalidEventError`` for an invalid one."""
    detail: dict[str, Any] = {"userId": event.user_id, "data": event.data}
    if event.event_id is not None:
        detail["eventId"] = event.event_id
    validate_detail(event.type, detail)
    try:
        detail_json = json.dumps(detail, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidEventError(
            event.type, f"detail.data is not JSON: {exc}", field="detail.data", rule="json"
        ) from None
    frame_bytes = len(encode_event(event.type, event.data, "", "")) + FRAME_HEADROOM_BYTES
    if frame_bytes > MAX_MESSAGE_BYTES:
        raise EventTooLargeError(
            event.type,
            f"detail.data makes a {frame_bytes}-byte frame (with room for id and time); "
            f"a WebSocket message holds at most {MAX_MESSAGE_BYTES} bytes",
            field="detail.data",
            rule="maxFrameBytes",
        )
    entry: PutEventsRequestEntryTypeDef = {
        "Source": source_for(event.type),
        "DetailType": event.type,
        "Detail": detail_json,
        "SystemMetadata": {"EventGroupId": event.user_id},
    }
    if event.event_id is not None:
        entry["SystemMetadata"]["DeduplicationId"] = event.event_id
    return entry


def entry_size(entry: PutEventsRequestEntryTypeDef) -> int:
    """An entry's size as EventBridge counts it (its "Calculating PutEvents entry size" page).

    Time counts 14 bytes; Source, DetailType, Detail and each Resource their UTF-8 length. The
    system metadata's ids are counted too: nothing documents whether they count, so the
    estimate errs on the large side.
    """
    size = 14 if entry.get("Time") is not None else 0
    size += len(entry.get("Source", "").encode("utf-8"))
    size += len(entry.get("DetailType", "").encode("utf-8"))
    size += len(entry.get("Detail", "").encode("utf-8"))
    size += sum(len(resource.encode("utf-8")) for resource in entry.get("Resources", []))
    system = entry.get("SystemMetadata", {})
    size += sum(len(str(value).encode("utf-8")) for value in system.values())
    return size


def waves(entries: Sequence[PutEventsRequestEntryTypeDef]) -> list[list[int]]:
    """Indexes of ``entries`` in waves: wave k holds the k-th entry of each event group, in order.

    No wave holds two entries of one group, so a refused entry that is re-sent can never land
    behind a later entry of its group published by the same call. Entries without a group each
    form a group of their own (they have no order to keep).
    """
    result: list[list[int]] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(entries):
        group = entry.get("SystemMetadata", {}).get("EventGroupId")
        number = seen.get(group, 0) if group is not None else 0
        if group is not None:
            seen[group] = number + 1
        if number == len(result):
            result.append([])
        result[number].append(index)
    return result


def chunk_entries(
    entries: Sequence[PutEventsRequestEntryTypeDef],
    indexes: Sequence[int] | None = None,
    *,
    max_entries: int = MAX_ENTRIES_PER_CALL,
    max_bytes: int = MAX_REQUEST_BYTES,
) -> list[list[int]]:
    """``indexes`` of ``entries`` (default: all) grouped, in order, into calls of <= max_entries
    and <= max_bytes.

    An entry larger than ``max_bytes`` on its own gets a call of its own (the bus will refuse
    it; ``build_entry`` already refuses anything near that size).
    """
    chunks: list[list[int]] = []
    current: list[int] = []
    current_bytes = 0
    for index in range(len(entries)) if indexes is None else indexes:
        size = entry_size(entries[index])
        if current and (len(current) >= max_entries or current_bytes + size > max_bytes):
            chunks.append(current)
            current, current_bytes = [], 0
        current.append(index)
        current_bytes += size
    if current:
        chunks.append(current)
    return chunks


def put_entries(
    entries: Sequence[PutEventsRequestEntryTypeDef],
    *,
    client: EventBridgeV2Client,
    bus_arn: str,
    sleep: Callable[[float], None] = time.sleep,
    retry: RetryPolicy = EMIT_RETRY,
) -> list[str]:
    """Put prepared entries (from ``build_entry``) wave by wave, chunked, retrying only refused
    entries; a ``DEDUPLICATED`` entry is on the bus already and counts as sent.

    Returns the event ids in order. Stops at the first call that still has refused entries and
    raises ``EmitError``; its ``failed`` lists those and every entry not yet sent
    (``errorCode`` "NotAttempted"), each with its ``index``.
    """
    event_ids = [""] * len(entries)
    calls = [chunk for wave in waves(entries) for chunk in chunk_entries(entries, wave)]
    for number, chunk in enumerate(calls):
        try:
            refused = _put_chunk(entries, chunk, event_ids, bus_arn, client=client, sleep=sleep, retry=retry)
        except (BotoCoreError, ClientError) as exc:
            code = exc.response["Error"].get("Code", "") if isinstance(exc, ClientError) else ""
            refused = {
                index: (code or type(exc).__name__, str(exc)) for index in chunk if not event_ids[index]
            }
            _raise_emit_error(entries, refused, calls[number + 1 :], cause=exc)
        if refused:
            _raise_emit_error(entries, refused, calls[number + 1 :])
    return event_ids


def _put_chunk(
    entries: Sequence[PutEventsRequestEntryTypeDef],
    chunk: list[int],
    event_ids: list[str],
    bus_arn: str,
    *,
    client: EventBridgeV2Client,
    sleep: Callable[[float], None],
    retry: RetryPolicy,
) -> dict[int, tuple[str, str]]:
    """One call per attempt; fills ``event_ids``; returns index -> (code, message) still refused."""
    pending = chunk
    refused: dict[int, tuple[str, str]] = {}
    for attempt in range(max(1, retry.attempts)):
        if attempt:
            sleep(retry.delay(attempt))
        response = client.put_events(EventBusArn=bus_arn, Entries=[entries[index] for index in pending])
        again: list[int] = []
        for index, result in zip(pending, response["Entries"], strict=True):
            code = result.get("ErrorCode")
            if code:
                refused[index] = (code, result.get("ErrorMessage", ""))
                if code in RETRYABLE_ERROR_CODES:
                    again.append(index)
            else:
                event_ids[index] = result.get("EventId", "")
                refused.pop(index, None)
        if not again:
            break
        log.warning("PutEvents refused %d of %d entries (try %d)", len(again), len(pending), attempt + 1)
        pending = again
    return refused


def _raise_emit_error(
    entries: Sequence[PutEventsRequestEntryTypeDef],
    refused: dict[int, tuple[str, str]],
    later_calls: list[list[int]],
    cause: Exception | None = None,
) -> NoReturn:
    failed = [
        {
            "index": str(index),
            "detailType": entries[index].get("DetailType", ""),
            "errorCode": code,
            "errorMessage": message,
        }
        for index, (code, message) in sorted(refused.items())
    ]
    failed += [
        {
            "index": str(index),
            "detailType": entries[index].get("DetailType", ""),
            "errorCode": "NotAttempted",
            "errorMessage": "not sent: an earlier call failed",
        }
        for call in later_calls
        for index in call
    ]
    codes = sorted({code for code, _ in refused.values()})
    raise EmitError(
        f"the event bus refused {len(refused)} of {len(entries)} events ({', '.join(codes)}); "
        f"{len(failed) - len(refused)} more not sent",
        failed,
    ) from cause
