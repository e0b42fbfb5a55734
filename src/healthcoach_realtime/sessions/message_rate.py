"""Per-connection rate limit on messages to ``$default``: a fixed window counted in DynamoDB. Pure.

API Gateway's stage throttle is per route and shared by every client, so one client flooding
``$default`` would spend everyone's budget. Each message increments its connection's counter for
the current window (``ConnectionStore.count_message``); the count decides::

    policy = MessageRatePolicy(limit=10, window_seconds=10)
    judge(count=11, policy=policy)   # Verdict.LIMITED: one error frame, then silence
    judge(count=20, policy=policy)   # Verdict.CLOSE: the connection is closed for abuse

Up to ``limit`` messages per window are served; the next one is answered with one ``error``
frame; further ones are dropped unanswered (answering a flood would be the flood's amplifier);
the ``close_after``-th closes the connection.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

__all__ = ["MessageRatePolicy", "Verdict", "judge", "limited_message", "window_start"]


class Verdict(Enum):
    """What to do with one message, given how many the connection sent in this window."""

    SERVE = "serve"
    LIMITED = "limited"  # the first message over the limit: one error frame
    DROP = "drop"  # further ones: no answer
    CLOSE = "close"  # abuse: close the connection


@dataclass(frozen=True)
class MessageRatePolicy:
    """``limit`` messages per ``window_seconds``; the connection is closed at ``close_after``."""

    limit: int = 10
    window_seconds: int = 10
    abuse_factor: int = 2

    def __post_init__(self) -> None:
        if self.limit < 1 or self.window_seconds < 1 or self.abuse_factor < 2:
            raise ValueError("limit and window_seconds must be at least 1, abuse_factor at least 2")

    @property
    def close_after(self) -> int:
        """The message count in one window that closes the connection (after the error frame)."""
        return max(self.limit * self.abuse_factor, self.limit + 2)


def window_start(now: float, policy: MessageRatePolicy) -> int:
    """The epoch second the current window began (windows are aligned, so every caller agrees)."""
    return int(now) - int(now) % policy.window_seconds


def judge(count: int, policy: MessageRatePolicy) -> Verdict:
    """The verdict on the ``count``-th message of a window (1-based)."""
    if count <= policy.limit:
        return Verdict.SERVE
    if count == policy.limit + 1:
        return Verdict.LIMITED
    if count == policy.close_after:
        return Verdict.CLOSE
    return Verdict.DROP


def limited_message(policy: MessageRatePolicy) -> str:
    """The error frame's text: what the limit is, so a client author can pace itself."""
    return (
        f"rate limited: at most {policy.limit} messages per {policy.window_seconds} s on one connection; "
        f"{policy.close_after} close it"
    )
