"""Browser messages on an open connection and the control frames: pure."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from healthcoach_realtime.client_messages import Invalid, Ping, Resume, parse_message, pong_frame


def test_ping() -> None:
    """{"action": "ping"} is a Ping."""
    assert parse_message('{"action":"ping"}') == Ping()


def test_resume_with_since() -> None:
    """{"action": "resume", "since": 7} is Resume(7)."""
    assert parse_message('{"action":"resume","since":7}') == Resume(7)


@pytest.mark.parametrize("since", ['"7"', "-1", "1.5", "true", "null"])
def test_resume_needs_a_non_negative_integer(since: str) -> None:
    """A since that is not an integer >= 0 is refused."""
    assert isinstance(parse_message('{"action":"resume","since":' + since + "}"), Invalid)


@pytest.mark.parametrize("body", [None, "", "not json", "[1]", '{"action":"dance"}'])
def test_anything_else_is_invalid(body: str | None) -> None:
    """Binary (None), non-JSON, non-objects and unknown actions are Invalid."""
    assert isinstance(parse_message(body), Invalid)


def test_pong_carries_utc_time_in_milliseconds() -> None:
    """{"type": "pong", "time": "...Z"}."""
    moment = datetime(2026, 11, 29, 10, 0, 0, 123000, tzinfo=UTC)
    assert pong_frame(moment) == {"type": "pong", "time": "2026-11-29T10:00:00.123Z"}
