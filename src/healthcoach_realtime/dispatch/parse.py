"""SQS record -> EventBridge envelope -> validated event, or the reason it is invalid. Pure.

The dispatch queue's messages are EventBridge envelopes (``id, time, detail-type, source,
detail, ...``). An envelope is checked as strictly as ``emit`` checks an event: a bad one
must be dead-lettered, never delivered and never retried.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from healthcoach_realtime.catalogue import is_event_type, source_for, validate_detail
from healthcoach_realtime.exceptions import InvalidEventError
from healthcoach_realtime.frames import MAX_MESSAGE_BYTES, SEQ_BYTES, encode_event

__all__ = ["DispatchEvent", "InvalidRecord", "parse_batch", "parse_record"]


@dataclass(frozen=True)
class DispatchEvent:
    """A valid event from one SQS record; ``frame`` is the browser frame, encoded once."""

    message_id: str
    event_id: str
    type: str
    user_id: str
    data: dict[str, Any]
    time: str
    frame: bytes = field(default=b"", repr=False, compare=False)
    body: str = field(default="", repr=False, compare=False)  # the SQS body, to dead-letter it
    group: str = ""  # the FIFO message group ("" from a standard queue)
    receive_count: int = 1  # SQS's ApproximateReceiveCount: above 1, a redelivery
    seq: int = 0  # the user's seq, once the history gave it one (``frame`` then carries it)


@dataclass(frozen=True)
class InvalidRecord:
    """A record that can never be delivered; ``body`` is kept to dead-letter it unchanged."""

    message_id: str
    reason: str
    body: str = field(default="", repr=False)


def parse_batch(sqs_event: Mapping[str, Any]) -> list[DispatchEvent | InvalidRecord]:
    """Every record of an SQS event, in order."""
    return [parse_record(record) for record in sqs_event.get("Records", [])]


def parse_record(record: Mapping[str, Any]) -> DispatchEvent | InvalidRecord:
    """Parse and validate one record. Reasons name ids, types and schema rules, never data."""
    message_id = str(record.get("messageId", ""))
    body = record.get("body")
    if not isinstance(body, str):
        return InvalidRecord(message_id, "record has no body")
    try:
        envelope = json.loads(body)
    except ValueError:
        return InvalidRecord(message_id, "body is not JSON", body)
    except RecursionError:
        return InvalidRecord(message_id, "body is JSON nested too deeply to parse", body)
    reason = _envelope_problem(envelope)
    if reason:
        return InvalidRecord(message_id, reason, body)
    event_type, detail = envelope["detail-type"], envelope["detail"]
    try:
        validate_detail(event_type, detail)
    except InvalidEventError as exc:
        return InvalidRecord(message_id, str(exc), body)
    # A producer's stable id (validated by the schema) wins: a change emitted twice is one event.
    event_id = detail.get("eventId") or envelope["id"]
    frame = encode_event(event_type, detail["data"], event_id, envelope["time"])
    if len(frame) + SEQ_BYTES > MAX_MESSAGE_BYTES:  # checked with the room its seq will take
        reason = (
            f"frame of {len(frame)} bytes (plus up to {SEQ_BYTES} for its seq) exceeds the "
            f"{MAX_MESSAGE_BYTES}-byte WebSocket message limit"
        )
        return InvalidRecord(message_id, reason, body)
    raw = record.get("attributes")
    attributes: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    count = str(attributes.get("ApproximateReceiveCount", "1"))
    return DispatchEvent(
        group=str(attributes.get("MessageGroupId", "")),
        receive_count=int(count) if count.isdigit() else 1,
        message_id=message_id,
        event_id=event_id,
        type=event_type,
        user_id=detail["userId"],
        data=detail["data"],
        time=envelope["time"],
        frame=frame,
        body=body,
    )


def _envelope_problem(envelope: Any) -> str:
    """What is wrong with the envelope around ``detail``, or "" when nothing is."""
    if not isinstance(envelope, dict):
        return "body is not an EventBridge envelope (not a JSON object)"
    for name in ("id", "time", "detail-type", "source"):
        if not isinstance(envelope.get(name), str) or not envelope[name]:
            return f"envelope has no {name!r}"
    event_type = envelope["detail-type"]
    if not is_event_type(event_type):
        return f"unknown event type {event_type[:100]!r}"
    if envelope["source"] != source_for(event_type):
        return f"source {envelope['source'][:100]!r} does not match {event_type}"
    if not isinstance(envelope.get("detail"), dict):
        return "envelope has no 'detail' object"
    return ""
