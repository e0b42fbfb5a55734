"""What a resuming client receives, decided over plain data. Pure.

A client that last saw ``since`` gets every kept event with a larger seq, in seq order. The
counter says which seqs exist (``since + 1 .. latest_seq``); each must be kept, as an event or
as a ``SkippedSeq`` (a seq a duplicate left unused, replayed as nothing). A seq handed out but
not kept is either still in flight (the dispatcher keeps an event at the same time as it looks
up the connections to post it to, so a client that connected after that lookup must find it
here: ``awaiting`` tells the store to read again) or gone (expired by TTL, or allocated by a
dispatcher that crashed). Whatever is still missing after the store's wait, the client is told
to refetch with one ``resync`` frame instead of a replay with a hole in it; also when it claims
a seq never handed out (history lost) or more than ``MAX_REPLAY`` entries are due. A replay ends
with one ``resumed`` frame, so every resume is answered by exactly one terminal frame; a replay
cut short (``history.replay``) says so with ``more`` and how far it got.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from healthcoach_realtime.history.keys import HistoryEvent, SkippedSeq

__all__ = ["MAX_REPLAY", "ResumePlan", "awaiting", "plan_resume"]

# Beyond this a refetch is cheaper than a replay (and a Lambda's time is bounded).
MAX_REPLAY = 500


@dataclass(frozen=True)
class ResumePlan:
    """Either ``resync`` (send ``frames.resync_frame(latest_seq)`` only) or the events to replay."""

    resync: bool
    latest_seq: int
    events: tuple[HistoryEvent, ...] = ()


def _missing(since: int, latest_seq: int, kept: Sequence[HistoryEvent | SkippedSeq]) -> int:
    """How many of the seqs ``since + 1 .. latest_seq`` are not kept."""
    present = {e.seq for e in kept if since < e.seq <= latest_seq}
    return max(0, latest_seq - since) - len(present)


def awaiting(since: int, latest_seq: int, kept: Sequence[HistoryEvent | SkippedSeq]) -> bool:
    """Would reading again help: seqs missing that may still be in flight (and no other reason
    to resync)?"""
    if since > latest_seq or len(kept) > MAX_REPLAY:
        return False
    return _missing(since, latest_seq, kept) > 0


def plan_resume(since: int, latest_seq: int, kept: Sequence[HistoryEvent | SkippedSeq]) -> ResumePlan:
    """``kept``: the user's kept entries with seq > ``since``, ascending (at most MAX_REPLAY + 1)."""
    if since > latest_seq or len(kept) > MAX_REPLAY or _missing(since, latest_seq, kept):
        return ResumePlan(resync=True, latest_seq=latest_seq)
    events = tuple(e for e in kept if isinstance(e, HistoryEvent))
    last = max(latest_seq, kept[-1].seq) if kept else latest_seq
    return ResumePlan(resync=False, latest_seq=last, events=events)
