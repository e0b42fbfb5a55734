"""The frames a browser receives, byte for byte: pure (DESIGN.md's protocol is the contract)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from healthcoach_realtime.frames import (
    authorized_frame,
    encode_event,
    encode_frame,
    error_frame,
    event_frame,
    pong_frame,
    presence_frame,
    resumed_frame,
    resync_frame,
)
from healthcoach_realtime.history.keys import HistoryEvent

TIME = "2026-11-29T10:00:00Z"


def test_a_live_event_is_compact_json_with_its_id_and_time() -> None:
    """``{type, data, id, time}`` in that order, no spaces, non-ASCII kept as UTF-8."""
    encoded = encode_event("foodLogCreated", {"name": "café", "kcal": 420}, "e1", TIME)
    assert (
        encoded
        == (
            '{"type":"foodLogCreated","data":{"name":"café","kcal":420},"id":"e1","time":"2026-11-29T10:00:00Z"}'
        ).encode()
    )


def test_an_event_with_a_seq_ends_with_it() -> None:
    """The history's seq follows ``time``; without one there is no ``seq`` key at all."""
    assert encode_event("foodLogDeleted", {"id": "f1"}, "e2", TIME, seq=7).endswith(b',"seq":7}')
    assert "seq" not in event_frame("foodLogDeleted", {"id": "f1"}, "e2", TIME)


def test_a_replayed_event_is_the_bytes_the_dispatcher_posts() -> None:
    """A resume replays exactly what the live path sent (same function, same bytes)."""
    kept = HistoryEvent("u1", 3, "e3", "foodLogCreated", {"n": 3, "note": "ü"}, TIME)
    assert kept.encoded() == encode_event("foodLogCreated", {"n": 3, "note": "ü"}, "e3", TIME, seq=3)
    assert json.loads(kept.encoded()) == event_frame(
        "foodLogCreated", {"n": 3, "note": "ü"}, "e3", TIME, seq=3
    )


def test_control_frames_keep_their_wire_shape() -> None:
    """Each control frame, encoded, as the browser client parses it."""
    moment = datetime(2026, 11, 29, 10, 0, 0, 123000, tzinfo=UTC)
    assert [
        encode_frame(f)
        for f in (
            pong_frame(moment),
            error_frame("no"),
            authorized_frame(1_800_000_000),
            presence_frame(3),
            resync_frame(7),
            resumed_frame(5),
            resumed_frame(5, more=True),
        )
    ] == [
        b'{"type":"pong","time":"2026-11-29T10:00:00.123Z"}',
        b'{"type":"error","message":"no"}',
        b'{"type":"authorized","exp":1800000000}',
        b'{"type":"presence","connections":3}',
        b'{"type":"resync","latestSeq":7}',
        b'{"type":"resumed","through":5}',
        b'{"type":"resumed","through":5,"more":true}',
    ]


def test_a_pong_without_a_time_given_carries_now_in_utc() -> None:
    """The server's clock, milliseconds, ``Z``."""
    before = datetime.now(UTC)
    sent = datetime.fromisoformat(pong_frame()["time"])
    assert before.replace(microsecond=before.microsecond // 1000 * 1000) <= sent <= datetime.now(UTC)
