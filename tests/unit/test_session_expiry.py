"""When a session may receive data and which are due to close (sessions.expiry): pure rules."""

from __future__ import annotations

from healthcoach_realtime.sessions.expiry import ExpiredSession, deliverable, due_for_close, is_live

EXP = 1_800_000_000


def test_a_session_is_live_until_its_exp_second() -> None:
    """One second before exp: live; at exp: not (no event may be posted from that second on)."""
    assert (is_live(EXP, EXP - 1), is_live(EXP, EXP), is_live(EXP, EXP + 1)) == (True, False, False)


def test_a_row_without_exp_is_never_live() -> None:
    """exp 0 (a row written without one) fails closed."""
    assert is_live(0, 0.0) is False


def test_deliverable_keeps_the_live_connections_in_order() -> None:
    """Only the connections whose exp is still ahead, in the lookup's order."""
    assert deliverable({"c3": EXP + 5, "c1": EXP - 5, "c2": EXP + 1, "c0": 0}, EXP) == ["c3", "c2"]


def test_due_for_close_orders_the_longest_overdue_first() -> None:
    """Expired sessions sorted by exp (then id); a live one found by a racing Scan is left alone."""
    sessions = [
        ExpiredSession("b", "u1", EXP - 1),
        ExpiredSession("a", "u2", EXP - 1),
        ExpiredSession("z", "u3", 0),
        ExpiredSession("live", "u1", EXP + 30),
    ]
    assert [s.connection_id for s in due_for_close(sessions, EXP)] == ["z", "a", "b"]
