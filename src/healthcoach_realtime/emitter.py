"""``emit()``: put validated domain events on the EventBridge bus.

Business code never talks to WebSockets: it emits an event, the dispatcher delivers it to every
open connection of the user. Bad events never reach the bus: validation (the catalogue's
schema, the browser frame's size) happens here, before anything is sent::

    from healthcoach_realtime import emit, emit_many
    from healthcoach_realtime.emitter import DomainEvent

    event_id = emit("user-123", "foodLogCreated", {"id": "f1", "name": "Apple", "calories": 95})
    ids = emit_many([DomainEvent("user-123", "foodLogDeleted", {"id": "f0"}),
                     ("user-123", "healthProfileUpdated", {"weightKg": 70})])

PutEvents accepts at most 10 entries and 256 KB per call and may refuse single entries
(``FailedEntryCount``): entries are chunked, and only the refused ones are sent again, with
exponential backoff and full jitter, a bounded number of times.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

from botocore.exceptions import BotoCoreError, ClientError

from healthcoach_realtime.catalogue import source_for, validate_detail
from healthcoach_realtime.exceptions import EmitError, EventTooLargeError, InvalidEventError
from healthcoach_realtime.frames import MAX_MESSAGE_BYTES, encode_frame, event_frame
from healthcoach_realtime.resources import dispatch_shard_of
from healthcoach_realtime.retry import RetryPolicy

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef

__all__ = [
    "EMIT_RETRY",
    "FRAME_HEADROOM_BYTES",
    "MAX_ENTRIES_PER_CALL",
    "MAX_REQUEST_BYTES",
    "DomainEvent",
    "EventInput",
    "build_entry",
    "chunk_entries",
    "emit",
    "emit_many",
    "entry_size",
    "put_entries",
]

log = logging.getLogger(__name__)

MAX_ENTRIES_PER_CALL = 10
MAX_REQUEST_BYTES = 256 * 1024
# The dispatcher adds ``id`` (36), ``time`` (~24) and may add ``seq``: keep room for them.
FRAME_HEADROOM_BYTES = 256
# Per-entry codes EventBridge documents as retryable; any other code is permanent.
RETRYABLE_ERROR_CODES = frozenset({"InternalFailure", "ThrottlingException"})
# Business code waits for emit(): a few tries within about three seconds at worst.
EMIT_RETRY = RetryPolicy(attempts=4, base_delay=0.1, max_delay=2.0)


@dataclass(frozen=True)
class DomainEvent:
    """One event for one user: ``type`` is a catalogue event type, ``data`` its payload."""

    user_id: str
    type: str
    data: Mapping[str, Any]
    # A stable id for a change that may be emitted twice (retries of a stream batch): browsers
    # see it as the frame's ``id`` (so they drop the repeat) and it keeps one seq. Default: none,
    # EventBridge's event id is used.
    event_id: str | None = None


# ``emit_many`` takes DomainEvents or plain ``(user_id, type, data)`` tuples.
EventInput = DomainEvent | tuple[str, str, Mapping[str, Any]]


def emit(
    user_id: str,
    event_type: str,
    data: Mapping[str, Any],
    *,
    client: EventBridgeClient | None = None,
    bus_name: str | None = None,
    event_id: str | None = None,
) -> str:
    """Validate one event and put it on the bus; returns the event id browsers will see
    (``event_id`` when given: pass a stable one to emit the same change safely twice, else
    EventBridge's).

    Raises ``InvalidEventError`` (naming field and rule), ``EventTooLargeError`` or ``EmitError``.
    """
    event = DomainEvent(user_id, event_type, data, event_id)
    return emit_many([event], client=client, bus_name=bus_name)[0]


def emit_many(
    events: Iterable[EventInput],
    *,
    client: EventBridgeClient | None = None,
    bus_name: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
    retry: RetryPolicy = EMIT_RETRY,
) -> list[str]:
    """Validate every event first (nothing is sent if one is invalid), then put them all.

    Returns the event ids in input order (an event's own ``event_id`` when it has one). An
    invalid event's error carries a note naming its index (``events[3]``).
    """
    if bus_name is None or client is None:
        from healthcoach_realtime.clients import events_client
        from healthcoach_realtime.settings import get_settings

        bus_name = bus_name or get_settings().event_bus_name
        client = client or events_client()
    entries: list[PutEventsRequestEntryTypeDef] = []
    own_ids: list[str | None] = []
    for index, event in enumerate(_as_event(e) for e in events):
        try:
            entries.append(build_entry(event, bus_name))
        except InvalidEventError as exc:
            exc.add_note(f"events[{index}]")
            raise
        own_ids.append(event.event_id)
    sent = put_entries(entries, client=client, sleep=sleep, retry=retry)
    return [own or bus_id for own, bus_id in zip(own_ids, sent, strict=True)]


def _as_event(event: EventInput) -> DomainEvent:
    return event if isinstance(event, DomainEvent) else DomainEvent(*event)


def build_entry(event: DomainEvent, bus_name: str) -> PutEventsRequestEntryTypeDef:
    """The PutEvents entry of a valid event; raises ``InvalidEventError`` for an invalid one."""
    detail: dict[str, Any] = {"userId": event.user_id, "data": event.data}
    if event.event_id is not None:
        detail["eventId"] = event.event_id
    validate_detail(event.type, detail)
    # Routes the event to its user's message group of the FIFO dispatch queue (resources).
    detail["shard"] = dispatch_shard_of(event.user_id)
    try:
        detail_json = json.dumps(detail, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidEventError(
            event.type, f"detail.data is not JSON: {exc}", field="detail.data", rule="json"
        ) from None
    frame_bytes = len(encode_frame(event_frame(event.type, event.data, "", ""))) + FRAME_HEADROOM_BYTES
    if frame_bytes > MAX_MESSAGE_BYTES:
        raise EventTooLargeError(
            event.type,
            f"detail.data makes a {frame_bytes}-byte frame (with room for id and time); "
            f"a WebSocket message holds at most {MAX_MESSAGE_BYTES} bytes",
            field="detail.data",
            rule="maxFrameBytes",
        )
    return {
        "Source": source_for(event.type),
        "DetailType": event.type,
        "Detail": detail_json,
        "EventBusName": bus_name,
    }


def entry_size(entry: PutEventsRequestEntryTypeDef) -> int:
    """An entry's size as EventBridge counts it (its "Calculating PutEvents entry size" page).

    Time counts 14 bytes; Source, DetailType, Detail and each Resource their UTF-8 length.
    EventBusName does not count.
    """
    size = 14 if entry.get("Time") is not None else 0
    size += len(entry.get("Source", "").encode("utf-8"))
    size += len(entry.get("DetailType", "").encode("utf-8"))
    size += len(entry.get("Detail", "").encode("utf-8"))
    size += sum(len(resource.encode("utf-8")) for resource in entry.get("Resources", []))
    return size


def chunk_entries(
    entries: Sequence[PutEventsRequestEntryTypeDef],
    *,
    max_entries: int = MAX_ENTRIES_PER_CALL,
    max_bytes: int = MAX_REQUEST_BYTES,
) -> list[list[int]]:
    """Indexes of ``entries`` grouped, in order, into calls of <= max_entries and <= max_bytes.

    An entry larger than ``max_bytes`` on its own gets a call of its own (EventBridge will refuse
    it; ``build_entry`` already refuses anything near that size).
    """
    chunks: list[list[int]] = []
    current: list[int] = []
    current_bytes = 0
    for index, entry in enumerate(entries):
        size = entry_size(entry)
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
    client: EventBridgeClient,
    sleep: Callable[[float], None] = time.sleep,
    retry: RetryPolicy = EMIT_RETRY,
) -> list[str]:
    """Put prepared entries (from ``build_entry``), chunked, retrying only refused entries.

    Returns the event ids in order. Stops at the first chunk that still has refused entries and
    raises ``EmitError``; its ``failed`` lists those and every entry of later chunks (never sent,
    ``errorCode`` "NotAttempted"), each with its ``index``.
    """
    event_ids = [""] * len(entries)
    chunks = chunk_entries(entries)
    for number, chunk in enumerate(chunks):
        try:
            refused = _put_chunk(entries, chunk, event_ids, client=client, sleep=sleep, retry=retry)
        except (BotoCoreError, ClientError) as exc:
            code = exc.response["Error"].get("Code", "") if isinstance(exc, ClientError) else ""
            refused = {
                index: (code or type(exc).__name__, str(exc)) for index in chunk if not event_ids[index]
            }
            _raise_emit_error(entries, refused, chunks[number + 1 :], cause=exc)
        if refused:
            _raise_emit_error(entries, refused, chunks[number + 1 :])
    return event_ids


def _put_chunk(
    entries: Sequence[PutEventsRequestEntryTypeDef],
    chunk: list[int],
    event_ids: list[str],
    *,
    client: EventBridgeClient,
    sleep: Callable[[float], None],
    retry: RetryPolicy,
) -> dict[int, tuple[str, str]]:
    """One call per attempt; fills ``event_ids``; returns index -> (code, message) still refused."""
    pending = chunk
    refused: dict[int, tuple[str, str]] = {}
    for attempt in range(max(1, retry.attempts)):
        if attempt:
            sleep(retry.delay(attempt))
        response = client.put_events(Entries=[entries[index] for index in pending])
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
    later_chunks: list[list[int]],
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
        for chunk in later_chunks
        for index in chunk
    ]
    codes = sorted({code for code, _ in refused.values()})
    raise EmitError(
        f"EventBridge refused {len(refused)} of {len(entries)} events ({', '.join(codes)}); "
        f"{len(failed) - len(refused)} more not sent",
        failed,
    ) from cause
