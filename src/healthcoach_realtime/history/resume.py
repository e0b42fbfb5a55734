"""What a resuming client receives, decided over plain data. Pure.

A client that last saw ``since`` gets every kept event with a larger seq, in seq order. It is
told to refetch (one ``resync`` frame, then nothing replayed) when events it missed may be gone:
the first kept entry after ``since`` is not ``since + 1`` (expired by TTL, or, harmlessly, a
seq allocated by a dispatcher that crashed before using it), nothing is kept but the counter
moved on, the client claims a seq never handed out (history lost), or more than ``MAX_REPLAY``
entries are due. Skipped seqs (``SkippedSeq``) keep the kept seqs contiguous and replay as nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from healthcoach_realtime.history.keys import HistoryEvent, SkippedSeq

__all__ = ["MAX_REPLAY", "ResumePlan", "plan_resume", "resync_frame"]

# Beyond this a refetch is cheaper than a replay (and a Lambda's time is bounded).
MAX_REPLAY = 500


@dataclass(frozen=True)
class ResumePlan:
    """Either ``resync`` (send ``resync_frame(latest_seq)`` only) or the events to replay."""

    resync: bool
    latest_seq: int
    events: tuple[HistoryEvent, ...] = ()


def resync_frame(latest_seq: int) -> dict[str, Any]:
    """Refetch everything; live events continue after ``latestSeq``."""
    return {"type": "resync", "latestSeq": latest_seq}


def plan_resume(since: int, latest_seq: int, kept: Sequence[HistoryEvent | SkippedSeq]) -> ResumePlan:
    """``kept``: the user's kept entries with seq > ``since``, ascending (at most MAX_REPLAY + 1)."""
    if since > latest_seq:
        return ResumePlan(resync=True, latest_seq=latest_seq)
    if since == latest_seq and not kept:
        return ResumePlan(resync=False, latest_seq=latest_seq)
    if not kept or kept[0].seq != since + 1 or len(kept) > MAX_REPLAY:
        return ResumePlan(resync=True, latest_seq=latest_seq)
    events = tuple(e for e in kept if isinstance(e, HistoryEvent))
    return ResumePlan(resync=False, latest_seq=max(latest_seq, kept[-1].seq), events=events)
