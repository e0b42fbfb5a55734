"""Keeping events in the history for tests, the way the dispatcher does (reserve, then claim)."""

from __future__ import annotations

from collections.abc import Sequence

from healthcoach_realtime.history.store import HistoryStore, NewEvent, unique_events

__all__ = ["keep_events"]


def keep_events(history: HistoryStore, user_id: str, events: Sequence[NewEvent]) -> dict[str, int]:
    """Event id -> seq for one user's events, each kept before it returns (one after another).

    One reservation for the batch's distinct events, then one claim each: an event kept before
    keeps its seq, and the seq it reserved is recorded as skipped."""
    unique = unique_events(events)
    if not unique:
        return {}
    first = history.reserve(user_id, len(unique))
    return {
        event.event_id: history.claim(user_id, event, seq) for seq, event in enumerate(unique, start=first)
    }
