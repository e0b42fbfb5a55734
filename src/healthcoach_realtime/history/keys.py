"""The history table's items, one table per deployment, partitioned by user. Pure.

PK ``userId``; SK ``counter`` (``lastSeq``: the last seq handed out), ``event#<id>`` (the seq an
event id got, so a redelivered event keeps it) and ``seq#<20 digits>`` (the event itself, sorted
by seq so a resume is one range query). Every item but the counter carries ``ttl``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from healthcoach_realtime.frames import event_frame

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

__all__ = [
    "COUNTER_SK",
    "MAX_SEQ",
    "HistoryEvent",
    "counter_key",
    "event_key",
    "history_event_from_item",
    "seq_sk",
]

COUNTER_SK = "counter"
SEQ_DIGITS = 20
MAX_SEQ = 10**SEQ_DIGITS - 1


def seq_sk(seq: int) -> str:
    """Zero-padded, so the string order of sort keys is the numeric order of seqs."""
    return f"seq#{seq:0{SEQ_DIGITS}d}"


def counter_key(user_id: str) -> dict[str, AttributeValueTypeDef]:
    """The key of a user's seq counter."""
    return {"userId": {"S": user_id}, "sk": {"S": COUNTER_SK}}


def event_key(user_id: str, event_id: str) -> dict[str, AttributeValueTypeDef]:
    """The key of the item remembering which seq ``event_id`` got."""
    return {"userId": {"S": user_id}, "sk": {"S": f"event#{event_id}"}}


@dataclass(frozen=True)
class HistoryEvent:
    """One delivered event as kept for replay."""

    user_id: str
    seq: int
    event_id: str
    type: str
    data: Any
    time: str

    def frame(self) -> dict[str, Any]:
        """The browser frame, identical to the live one."""
        return event_frame(self.type, self.data, self.event_id, self.time, seq=self.seq)

    def dedupe_item(self, ttl: int) -> dict[str, AttributeValueTypeDef]:
        """``event#<id>`` -> seq."""
        return {**event_key(self.user_id, self.event_id), "seq": {"N": str(self.seq)}, "ttl": {"N": str(ttl)}}

    def history_item(self, ttl: int) -> dict[str, AttributeValueTypeDef]:
        """``seq#<seq>`` -> the event (``data`` as a JSON string: any shape, stored verbatim)."""
        return {
            "userId": {"S": self.user_id},
            "sk": {"S": seq_sk(self.seq)},
            "seq": {"N": str(self.seq)},
            "eventId": {"S": self.event_id},
            "type": {"S": self.type},
            "data": {"S": json.dumps(self.data, separators=(",", ":"), ensure_ascii=False)},
            "time": {"S": self.time},
            "ttl": {"N": str(ttl)},
        }


def history_event_from_item(item: dict[str, Any]) -> HistoryEvent:
    """Read a ``seq#`` item back."""
    return HistoryEvent(
        user_id=item["userId"]["S"],
        seq=int(item["seq"]["N"]),
        event_id=item["eventId"]["S"],
        type=item["type"]["S"],
        data=json.loads(item["data"]["S"]),
        time=item["time"]["S"],
    )
