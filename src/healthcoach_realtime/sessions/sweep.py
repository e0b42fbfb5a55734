"""The session sweeper: close every connection whose token has expired, within 60 s of ``exp``.

Why a scheduled Scan (DESIGN.md has the arithmetic): EventBridge Scheduler invokes the sweeper
once a minute, and each run sweeps ``passes`` times, evenly spaced (two: every 30 s), so a
session is closed at most 30 s plus one Scan after its ``exp``. The Scan reads the whole table,
about $400 a month at a million connections, and needs nothing from the handshake or the refresh:
each pass re-reads the truth, so nothing is ever left unclosed by a lost call. A one-time schedule
per session would add a control-plane call to every handshake and refresh; an index on the
expiry minute, a second index write to every refresh (more than the Scan at that scale).

Each expired row is deleted only if it is still expired (a refresh racing the sweep wins), then
its socket is closed, then the user's remaining connections are told the new count::

    report = sweep_once(store, management, now=time.time())
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from healthcoach_realtime.presence import announce_presence
from healthcoach_realtime.sessions.expiry import ExpiredSession, due_for_close
from healthcoach_realtime.sessions.sockets import close_sockets

if TYPE_CHECKING:
    from mypy_boto3_apigatewaymanagementapi import ApiGatewayManagementApiClient

    from healthcoach_realtime.connections import ConnectionStore

__all__ = [
    "SCAN_SEGMENTS",
    "SCHEDULE_INPUT",
    "SWEEP_PERIOD_SECONDS",
    "SweepReport",
    "pass_offsets",
    "sweep_once",
]

# The schedule's period: EventBridge Scheduler's finest rate is one minute.
SWEEP_PERIOD_SECONDS = 60.0
# What the schedule sends the sweeper (deployed by infra/, emulated by local/scheduler.py).
SCHEDULE_INPUT: Mapping[str, str] = {
    "source": "healthcoach.session-sweeper",
    "detail-type": "Scheduled sweep",
}
# A parallel Scan: at a million rows (~300 MB) one segment would take longer than a pass allows.
SCAN_SEGMENTS = 8

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepReport:
    """What one pass found and did."""

    expired: int  # rows found expired by the Scan
    closed: int  # rows removed (their sockets closed or already gone)
    kept: int  # rows refreshed (or removed by someone else) between the Scan and the delete


def pass_offsets(passes: int, period: float = SWEEP_PERIOD_SECONDS) -> list[float]:
    """When each pass of one run starts, in seconds after the run starts: evenly over ``period``."""
    if passes < 1:
        raise ValueError("a run makes at least one pass")
    return [period * n / passes for n in range(passes)]


def sweep_once(
    store: ConnectionStore,
    management: ApiGatewayManagementApiClient,
    *,
    now: float,
    segments: int = SCAN_SEGMENTS,
    announce: Callable[[str], object] | None = None,
) -> SweepReport:
    """One pass: find the expired sessions, remove their rows, close their sockets, tell siblings.

    ``announce(user_id)`` tells a user's remaining connections their count (default: presence).
    """
    found = _scan(store, now, segments)
    due = due_for_close(found, now)
    removed = [s for s in due if store.remove_expired(s.connection_id, now) is not None]
    close_sockets(management, [s.connection_id for s in removed])
    tell = announce or (lambda user: announce_presence(store, management, user))
    for user in dict.fromkeys(s.user_id for s in removed):
        try:
            tell(user)
        except (BotoCoreError, ClientError):  # best effort, as presence always is
            _log.warning("presence not announced after the sweep", exc_info=True)
    return SweepReport(expired=len(due), closed=len(removed), kept=len(due) - len(removed))


def _scan(store: ConnectionStore, now: float, segments: int) -> list[ExpiredSession]:
    if segments == 1:
        return list(store.expired_sessions(now))
    with ThreadPoolExecutor(max_workers=segments) as pool:
        parts = pool.map(
            lambda segment: list(store.expired_sessions(now, segment=segment, segments=segments)),
            range(segments),
        )
        return [session for part in parts for session in part]
