"""The per-connection rate limit on $default (sessions.message_rate): windows and verdicts."""

from __future__ import annotations

import pytest

from healthcoach_realtime.sessions.message_rate import (
    MessageRatePolicy,
    Verdict,
    judge,
    limited_message,
    window_start,
)

POLICY = MessageRatePolicy(limit=10, window_seconds=10)


def test_messages_up_to_the_limit_are_served() -> None:
    """The 1st to the 10th message of a window are served."""
    assert {judge(n, POLICY) for n in range(1, 11)} == {Verdict.SERVE}


def test_the_first_message_over_the_limit_gets_the_error_frame() -> None:
    """The 11th is answered once, with the rate-limit error."""
    assert judge(11, POLICY) is Verdict.LIMITED


def test_further_messages_are_dropped_until_the_abuse_threshold_closes() -> None:
    """12th..19th: no answer; the 20th (twice the limit) closes; later ones (in flight) are dropped."""
    assert {judge(n, POLICY) for n in range(12, 20)} == {Verdict.DROP}
    assert (judge(20, POLICY), judge(21, POLICY)) == (Verdict.CLOSE, Verdict.DROP)


def test_a_limit_of_one_still_sends_the_error_before_closing() -> None:
    """With limit 1: serve, error, then close (the close never comes before the error frame)."""
    policy = MessageRatePolicy(limit=1, window_seconds=1)
    assert [judge(n, policy) for n in (1, 2, 3)] == [Verdict.SERVE, Verdict.LIMITED, Verdict.CLOSE]


def test_windows_are_aligned_so_every_invocation_agrees() -> None:
    """Any instant of [1000, 1010) is window 1000; 1010 starts the next."""
    assert [window_start(t, POLICY) for t in (1000.0, 1009.99, 1010.0)] == [1000, 1000, 1010]


@pytest.mark.parametrize(("limit", "window", "factor"), [(0, 10, 2), (10, 0, 2), (10, 10, 1)])
def test_an_unusable_policy_is_refused(limit: int, window: int, factor: int) -> None:
    """No limit, no window, or closing at the limit itself: ValueError."""
    with pytest.raises(ValueError, match="at least"):
        MessageRatePolicy(limit=limit, window_seconds=window, abuse_factor=factor)


def test_the_error_names_the_limit() -> None:
    """A client author can read the rate to pace at from the error frame."""
    assert limited_message(POLICY).startswith("rate limited: at most 10 messages per 10 s")
