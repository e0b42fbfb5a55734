"""Browser messages on an open connection: pure."""

from __future__ import annotations

import pytest

from healthcoach_realtime.client_messages import (
    Authorize,
    Invalid,
    Ping,
    Resume,
    parse_message,
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
