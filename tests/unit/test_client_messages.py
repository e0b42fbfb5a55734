"""Browser messages on an open connection and the control frames: pure."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from healthcoach_realtime.client_messages import (
    Authorize,
    Invalid,
    Ping,
    Resume,
    authorized_frame,
    parse_message,
    pong_frame,
)


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


def test_auth_with_a_token() -> None:
    """{"action": "auth", "token": "<jwt>"} is Authorize carrying the token."""
    assert parse_message('{"action":"auth","token":"a.b.c"}') == Authorize("a.b.c")


@pytest.mark.parametrize("token", ["", "null", "42", '["a.b.c"]'])
def test_auth_needs_a_token_string(token: str) -> None:
    """A missing, empty or non-string token is Invalid, with a message saying what is needed."""
    parsed = parse_message('{"action":"auth","token":' + (token or '""') + "}")
    assert isinstance(parsed, Invalid)
    assert "token" in parsed.message


def test_an_authorize_never_shows_its_token() -> None:
    """The token stays out of the repr (so out of any log line or traceback that prints it)."""
    assert "secret-token" not in repr(Authorize("secret-token"))


def test_authorized_frame_carries_the_new_exp() -> None:
    """{"type": "authorized", "exp": <epoch seconds>}."""
    assert authorized_frame(1_800_000_000) == {"type": "authorized", "exp": 1_800_000_000}
