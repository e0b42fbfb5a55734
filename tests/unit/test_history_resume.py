"""History keys and the resume decision: pure."""

from __future__ import annotations

from healthcoach_realtime.history.keys import HistoryEvent, SkippedSeq, entry_from_item, skipped_item
from healthcoach_realtime.history.resume import MAX_REPLAY, awaiting, plan_resume


def kept(*seqs: int) -> list[HistoryEvent | SkippedSeq]:
    return [HistoryEvent("u1", s, f"e{s}", "foodLogCreated", {"n": s}, "2026-11-29T10:00:00Z") for s in seqs]


def test_history_item_round_trips() -> None:
    """A history item reads back as the same event, data included."""
    event = HistoryEvent("u1", 7, "e7", "foodLogCreated", {"kcal": 420, "name": "café"}, "t")
    assert entry_from_item(dict(event.item(ttl=1))) == event


def test_skipped_item_reads_back_as_a_skipped_seq() -> None:
    """A ``skip#`` item is a seq without an event."""
    assert entry_from_item(dict(skipped_item("u1", 9, ttl=1))) == SkippedSeq(9)


def test_contiguous_history_is_replayed() -> None:
    """Everything after ``since`` is replayed when the first kept seq is since + 1."""
    plan = plan_resume(4, 7, kept(5, 6, 7))
    assert (plan.resync, [e.seq for e in plan.events]) == (False, [5, 6, 7])


def test_up_to_date_client_gets_nothing() -> None:
    """A client that saw the latest seq gets neither events nor resync."""
    plan = plan_resume(7, 7, [])
    assert (plan.resync, plan.events) == (False, ())


def test_skipped_seqs_count_as_kept_but_replay_nothing() -> None:
    """A seq a duplicate left unused (skip#) is no gap: the events around it are replayed."""
    plan = plan_resume(4, 7, [SkippedSeq(5), *kept(6, 7)])
    assert (plan.resync, [e.seq for e in plan.events]) == (False, [6, 7])


def test_expired_head_means_resync() -> None:
    """A missing since + 1 (expired) yields resync, never a silent gap."""
    assert plan_resume(2, 7, kept(5, 6, 7)).resync


def test_everything_expired_means_resync() -> None:
    """Nothing kept but the counter moved on: resync."""
    assert plan_resume(2, 7, []).resync


def test_seq_from_the_future_means_resync() -> None:
    """A client claiming a seq never handed out (history lost) is told to refetch."""
    assert plan_resume(9, 7, []).resync


def test_too_long_a_replay_means_resync() -> None:
    """More than MAX_REPLAY due events: refetch instead."""
    assert plan_resume(0, MAX_REPLAY + 1, kept(*range(1, MAX_REPLAY + 2))).resync


def test_a_hole_in_the_middle_means_resync() -> None:
    """Seq 6 handed out but not kept (gone, or still in flight after the wait): no replay with a hole."""
    assert plan_resume(4, 7, kept(5, 7)).resync


def test_events_kept_beyond_the_counter_read_are_replayed_too() -> None:
    """Kept after the counter was read: replayed (live posts of them are dropped by id)."""
    plan = plan_resume(4, 5, kept(5, 6))
    assert ([e.seq for e in plan.events], plan.latest_seq) == ([5, 6], 6)


def test_missing_seqs_are_awaited() -> None:
    """Counter at 7, seq 7 not kept yet: read again."""
    assert awaiting(4, 7, kept(5, 6))


def test_nothing_is_awaited_when_complete_or_hopeless() -> None:
    """Complete, a seq from the future, or too long a replay: reading again cannot help."""
    assert (awaiting(4, 7, kept(5, 6, 7)), awaiting(9, 7, []), awaiting(0, 600, kept(*range(1, 502)))) == (
        False,
        False,
        False,
    )
