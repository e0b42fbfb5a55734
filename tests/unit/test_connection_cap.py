"""At most N connections per user (sessions.connection_cap): what $connect checks and decides."""

from __future__ import annotations

import pytest

from healthcoach_realtime.sessions.connection_cap import ConnectionCap

NOW = 1_800_000_000.0
LIVE = int(NOW) + 600


def test_below_the_limit_nothing_needs_checking() -> None:
    """Nine live connections under a limit of ten: no GetConnection call at all."""
    assert ConnectionCap(10).suspects({f"c{n}": LIVE for n in range(9)}, NOW) == []


def test_at_the_limit_every_live_connection_is_checked() -> None:
    """Ten live connections: each is a suspect (one may be a row left by a lost $disconnect)."""
    sessions = {f"c{n}": LIVE for n in range(10)}
    assert ConnectionCap(10).suspects(sessions, NOW) == list(sessions)


def test_expired_sessions_do_not_count() -> None:
    """Three expired rows (the sweeper is closing them) and nine live ones: below the limit."""
    sessions = {**{f"old{n}": int(NOW) - 1 for n in range(3)}, **{f"c{n}": LIVE for n in range(9)}}
    assert ConnectionCap(10).suspects(sessions, NOW) == []


def test_admits_while_below_the_limit_only() -> None:
    """Nine open: admitted (the newcomer is the tenth); ten open: refused."""
    cap = ConnectionCap(10)
    assert (cap.admits([f"c{n}" for n in range(9)]), cap.admits([f"c{n}" for n in range(10)])) == (
        True,
        False,
    )


def test_a_limit_below_one_is_refused() -> None:
    """A cap of 0 would refuse everyone: ValueError."""
    with pytest.raises(ValueError, match="at least 1"):
        ConnectionCap(0)
