"""Serve one resume on its connection: the planned events in seq order, then exactly one terminal
frame, within the invocation's time.

At most ``REPLAY_CHUNK`` events per answer, each post retried briefly (``Replier``), and no event
post starts unless more than ``TERMINAL_RESERVE_SECONDS`` are left: that time is kept for the
terminal frame. Whatever ends the replay early (the chunk's end, the deadline, a post still
failing after its retries) the terminal frame says how far it got,
``{"type": "resumed", "through": <last seq posted>, "more": true}``, and the client resumes again
from ``through``. An event the gateway refuses for good (403, 413) cannot be replayed: the answer
ends with ``resync`` instead of a replay with a hole in it.

A resume is left without a terminal frame only when nothing more can reach the client: the
connection is gone (410), its session ended (nothing is posted after ``exp``), or the terminal
frame itself still failed after its retries (or a post hung past the invocation's end). The
client's resume timeout covers those: it resumes again from where it last asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from healthcoach_realtime.dispatch.plan import Outcome
from healthcoach_realtime.frames import Frame, resumed_frame, resync_frame

if TYPE_CHECKING:
    from healthcoach_realtime.history.resume import ResumePlan
    from healthcoach_realtime.replies import Replier

__all__ = ["REPLAY_CHUNK", "TERMINAL_RESERVE_SECONDS", "ReplayOutcome", "serve_resume"]

# Events per answer: ~2 s of posts at a typical 10-20 ms each, well inside $default's 10 s.
REPLAY_CHUNK = 100
# Time kept for the terminal frame: a post and its retries (REPLY_RETRY sleeps at most 0.45 s),
# plus the handler's own logging.
TERMINAL_RESERVE_SECONDS = 1.5


@dataclass(frozen=True)
class ReplayOutcome:
    """What the handler logs: events posted, and the terminal frame the client got (if any)."""

    events_sent: int
    terminal: Frame | None


def serve_resume(replier: Replier, since: int, plan: ResumePlan) -> ReplayOutcome:
    """Post ``plan``'s answer to a client that last saw ``since``."""
    if plan.resync:
        return _finish(replier, 0, resync_frame(plan.latest_seq))
    chunk = plan.events[:REPLAY_CHUNK]
    through = since
    sent = 0
    for event in chunk:
        outcome = replier.post(event.encoded(), reserve=TERMINAL_RESERVE_SECONDS)
        if outcome in (Outcome.GONE, Outcome.EXPIRED):
            return ReplayOutcome(sent, None)
        if outcome is Outcome.PERMANENT:
            return _finish(replier, sent, resync_frame(plan.latest_seq))
        if outcome is not Outcome.SENT:  # still failing, or no time left: cut short here
            break
        sent += 1
        through = event.seq
    return _finish(replier, sent, resumed_frame(through, more=sent < len(plan.events)))


def _finish(replier: Replier, events_sent: int, frame: Frame) -> ReplayOutcome:
    """Post the terminal frame (with the time the events left for it)."""
    delivered = replier.post(frame) is Outcome.SENT
    return ReplayOutcome(events_sent, frame if delivered else None)
