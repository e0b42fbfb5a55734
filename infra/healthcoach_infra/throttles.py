"""The stage's throttles, sized from the traffic a number of connections makes (pure arithmetic).

API Gateway throttles a WebSocket stage per route, for everyone at once: a fixed 100 requests/s
is too tight for a large deployment, and loose enough for anyone with garbage tokens to spend a
small one's whole ``$connect`` budget. So each route's rate is what ``N`` peak connections send,
in the steadier of two regimes, and its burst twice that:

- steady, times ``HEADROOM``: every connection reconnects about every ``MEAN_CONNECTION_SECONDS``
  (closed tabs, sleeping laptops, mobile networks; API Gateway ends each one at 2 h);
- recovery, after an outage or a deploy: all ``N`` reconnect, and the limit lets them all back
  within ``RECOVERY_SECONDS`` (the clients' backoff spreads them; a throttled one retries).

``$connect`` (and ``$disconnect``, the default route settings)::

    max(HEADROOM * N / MEAN_CONNECTION_SECONDS, N / RECOVERY_SECONDS)

capped at the account's 500 new connections/s per region (a higher limit could never be
reached). ``$default``: a quiet client pings every ``ping_interval_seconds`` (``realtime.js``: after
5 idle minutes), sends ``RESUMES_PER_CONNECT`` messages on every open (``resume``, ``presence``) and
one ``auth`` per ``TOKEN_SECONDS`` (Cognito's default token lifetime)::

    N / ping + N / TOKEN_SECONDS + RESUMES_PER_CONNECT * (connect rate above, uncapped)

Neither drops below ``FLOOR_RATE`` (a handful of developers reloading pages). At 10,000
connections: 34 and 103 requests/s; at a million: 500 (the account's quota: raise it first) and
10,278. One client's share of ``$default`` is capped in the handler (``MESSAGE_RATE_LIMIT`` per
connection), so a single flood cannot spend it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "ACCOUNT_NEW_CONNECTIONS_PER_SECOND",
    "DEFAULT_PEAK_CONNECTIONS",
    "DEFAULT_PING_INTERVAL_SECONDS",
    "HEADROOM",
    "RECOVERY_SECONDS",
    "RouteThrottle",
    "StageThrottles",
    "stage_throttles",
]

DEFAULT_PEAK_CONNECTIONS = 10_000
DEFAULT_PING_INTERVAL_SECONDS = 300  # realtime.js's PING_WHEN_IDLE
MEAN_CONNECTION_SECONDS = 1800
RECOVERY_SECONDS = 300  # every client back within 5 minutes of an outage
RESUMES_PER_CONNECT = 2  # {"action": "resume"} and {"action": "presence"} on every open
TOKEN_SECONDS = 3600  # one {"action": "auth"} per token lifetime
HEADROOM = 2.0
BURST_FACTOR = 2
FLOOR_RATE = 10
# API Gateway: new WebSocket connections per second per account and region (a soft quota).
ACCOUNT_NEW_CONNECTIONS_PER_SECOND = 500


@dataclass(frozen=True)
class RouteThrottle:
    """Steady requests per second and the bucket's burst, as the stage's route settings take them."""

    rate: int
    burst: int


@dataclass(frozen=True)
class StageThrottles:
    """``connect`` for the default route settings ($connect, $disconnect); ``default`` for $default."""

    connect: RouteThrottle
    default: RouteThrottle


def stage_throttles(
    peak_connections: int = DEFAULT_PEAK_CONNECTIONS,
    ping_interval_seconds: int = DEFAULT_PING_INTERVAL_SECONDS,
) -> StageThrottles:
    """The route throttles for ``peak_connections`` clients that ping every ``ping_interval_seconds``."""
    if peak_connections < 1 or ping_interval_seconds < 1:
        raise ValueError("peak connections and the ping interval must be at least 1")
    n = peak_connections
    handshakes = max(HEADROOM * n / MEAN_CONNECTION_SECONDS, n / RECOVERY_SECONDS)
    messages = n / ping_interval_seconds + n / TOKEN_SECONDS + RESUMES_PER_CONNECT * handshakes
    connect = min(ACCOUNT_NEW_CONNECTIONS_PER_SECOND, _rate(handshakes))
    default = _rate(messages)
    return StageThrottles(
        connect=RouteThrottle(connect, connect * BURST_FACTOR),
        default=RouteThrottle(default, default * BURST_FACTOR),
    )


def _rate(per_second: float) -> int:
    return max(FLOOR_RATE, math.ceil(per_second))
