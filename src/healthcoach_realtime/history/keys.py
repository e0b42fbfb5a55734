"""The history table's items, one table per deployment, partitioned by user. Pure.

PK ``userId``; SK ``counter`` (``lastSeq``: the last seq handed out), ``event#<id>`` (one
delivered event with the ``seq`` it got: the same item makes a redelivered event keep its seq and
is what a resume replays) and ``skip#<20 digits>`` (a seq allocated and then not used, because a
duplicate turned out to have one already; kept so the seqs in the table stay contiguous). The
local secondary index ``bySeq`` (sort key ``seq``; the counter has none, so it is not in it)
serves resumes: one range query in seq order. Every item but the counter carries ``ttl``.

The counter also keeps the user's recently opened connections, one attribute each,
``conn#<connection id>`` = ``{exp, at}`` (the session's end and the connect time, epoch
seconds): the dispatcher's seq reservation returns them with the new ``lastSeq`` (one UpdateItem,
consistent), which the GSI of the connections table, lagging its table, cannot promise.
``progress#<message group>`` (``got``: connection id -> the seqs of the records reported for
redelivery that it has received; ``ttl``) is written only when a user's records of that group
fail in a batch, so a redelivery skips what each connection already has.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from healthcoach_realtime.frames import encode_event
from healthcoach_realtime.resources import HISTORY_BY_SEQ_INDEX

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

__all__ = [
    "BY_SEQ_INDEX",
    "COUNTER_SK",
    "RECENT_PREFIX",
    "HistoryEvent",
    "RecentConnection",
    "SkippedSeq",
    "counter_key",
    "entry_from_item",
    "event_key",
    "marks_from_item",
    "progress_item",
    "progress_key",
    "recent_from_item",
    "recent_name",
    "recent_value",
    "skipped_item",
]

COUNTER_SK = "counter"
BY_SEQ_INDEX = HISTORY_BY_SEQ_INDEX
SEQ_DIGITS = 20
RECENT_PREFIX = "conn#"


def counter_key(user_id: str) -> dict[str, AttributeValueTypeDef]:
    """The key of a user's seq counter."""
    return {"userId": {"S": user_id}, "sk": {"S": COUNTER_SK}}


def event_key(user_id: str, event_id: str) -> dict[str, AttributeValueTypeDef]:
    """The key of the item that holds ``event_id`` and its seq."""
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

    def encoded(self) -> bytes:
        """The frame a resume replays: the bytes the dispatcher posted live."""
        return encode_event(self.type, self.data, self.event_id, self.time, seq=self.seq)

    def item(self, ttl: int) -> dict[str, AttributeValueTypeDef]:
        """``event#<id>`` with its seq and the event (``data`` as a JSON string: stored verbatim)."""
        return {
            **event_key(self.user_id, self.event_id),
            "seq": {"N": str(self.seq)},
            "type": {"S": self.type},
            "data": {"S": json.dumps(self.data, separators=(",", ":"), ensure_ascii=False)},
            "time": {"S": self.time},
            "ttl": {"N": str(ttl)},
        }


@dataclass(frozen=True)
class SkippedSeq:
    """A seq that was allocated and never given to an event: no gap for a resuming client."""

    seq: int


def skipped_item(user_id: str, seq: int, ttl: int) -> dict[str, AttributeValueTypeDef]:
    """``skip#<seq>``: in ``bySeq`` like an event, replayed as nothing."""
    return {
        "userId": {"S": user_id},
        "sk": {"S": f"skip#{seq:0{SEQ_DIGITS}d}"},
        "seq": {"N": str(seq)},
        "ttl": {"N": str(ttl)},
    }


def entry_from_item(item: dict[str, Any]) -> HistoryEvent | SkippedSeq:
    """Read an ``event#`` or ``skip#`` item back."""
    sort_key = str(item["sk"]["S"])
    seq = int(item["seq"]["N"])
    if not sort_key.startswith("event#"):
        return SkippedSeq(seq)
    return HistoryEvent(
        user_id=item["userId"]["S"],
        seq=seq,
        event_id=sort_key.removeprefix("event#"),
        type=item["type"]["S"],
        data=json.loads(item["data"]["S"]),
        time=item["time"]["S"],
    )


@dataclass(frozen=True)
class RecentConnection:
    """A connection as ``$connect`` noted it on the counter: its session's end and connect time."""

    connection_id: str
    expires_at: int
    connected_at: float


def recent_name(connection_id: str) -> str:
    """The counter's attribute that notes one connection."""
    return f"{RECENT_PREFIX}{connection_id}"


def recent_value(connection: RecentConnection) -> AttributeValueTypeDef:
    """``{exp, at}`` of one noted connection."""
    return {"M": {"exp": {"N": str(connection.expires_at)}, "at": {"N": f"{connection.connected_at:.3f}"}}}


def recent_from_item(item: Mapping[str, Any]) -> dict[str, RecentConnection]:
    """The connections noted on a counter item (``{}`` for none; malformed notes are skipped)."""
    recent: dict[str, RecentConnection] = {}
    for name, value in item.items():
        if not name.startswith(RECENT_PREFIX) or not isinstance(value, dict):
            continue
        fields: Any = value.get("M")
        try:
            expires_at = int(fields["exp"]["N"])
            connected_at = float(fields["at"]["N"])
        except (KeyError, TypeError, ValueError):
            continue
        connection_id = name.removeprefix(RECENT_PREFIX)
        recent[connection_id] = RecentConnection(connection_id, expires_at, connected_at)
    return recent


def progress_key(user_id: str, group: str) -> dict[str, AttributeValueTypeDef]:
    """The key of the user's delivery progress in one FIFO message group."""
    return {"userId": {"S": user_id}, "sk": {"S": f"progress#{group}"}}


def progress_item(
    user_id: str, group: str, got: Mapping[str, Collection[int]], ttl: int
) -> dict[str, AttributeValueTypeDef]:
    """``progress#<group>``: connection id -> the seqs it has received (connections with none
    are left out: a number set cannot be empty)."""
    return {
        **progress_key(user_id, group),
        "got": {"M": {cid: {"NS": [str(s) for s in sorted(seqs)]} for cid, seqs in got.items() if seqs}},
        "ttl": {"N": str(ttl)},
    }


def marks_from_item(item: Mapping[str, Any] | None) -> dict[str, frozenset[int]]:
    """Connection id -> the seqs it has received, from a progress item (``{}`` when none)."""
    if not item:
        return {}
    got = item.get("got", {}).get("M", {})
    return {str(cid): frozenset(int(s) for s in v.get("NS", []) if s.isdigit()) for cid, v in got.items()}
