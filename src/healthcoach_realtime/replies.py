"""``Replier``: post answer frames to the one connection that asked, within its session and time.

A transient answer (429, 5xx, no answer at all) is retried briefly (``REPLY_RETRY``, full jitter);
no attempt starts once the session has ended (nothing is posted after the token's ``exp``) or
once the invocation's time left (``remaining``, seconds, from the Lambda context) is down to the
``reserve`` the caller keeps for what must still follow.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from healthcoach_realtime.dispatch.plan import Outcome, classify
from healthcoach_realtime.frames import Frame, encode_frame, post_status
from healthcoach_realtime.retry import RetryPolicy
from healthcoach_realtime.sessions.expiry import is_live

if TYPE_CHECKING:
    from mypy_boto3_apigatewaymanagementapi import ApiGatewayManagementApiClient

__all__ = ["FINAL_MARGIN_SECONDS", "REPLY_RETRY", "Replier"]

# Brief: an answer is worth a few tenths of a second of retrying, not the invocation's time.
REPLY_RETRY = RetryPolicy(attempts=3, base_delay=0.05, max_delay=0.4)
# Kept after the last frame an answer posts: the handler still logs and flushes its metrics.
FINAL_MARGIN_SECONDS = 0.3


@dataclass
class Replier:
    """Posts to ``connection_id``; ``until``: its session's end (epoch seconds; ``None``: not
    checked); ``remaining``: seconds left in the invocation (``None``: unbounded)."""

    management: ApiGatewayManagementApiClient
    connection_id: str
    until: float | None = None
    remaining: Callable[[], float] | None = None
    policy: RetryPolicy = REPLY_RETRY
    sleep: Callable[[float], None] = time.sleep
    wall_clock: Callable[[], float] = time.time
    rng: Callable[[], float] = random.random
    sent: int = field(default=0, init=False)

    def post(self, frame: Frame | bytes, *, reserve: float = FINAL_MARGIN_SECONDS) -> Outcome:
        """Post one frame (built, or already encoded), retrying transient failures while more
        than ``reserve`` seconds are left: ``SENT``, ``GONE``, ``PERMANENT``, ``EXPIRED`` (the
        session ended) or ``RETRY`` (still failing after the last attempt, or no time left)."""
        data = frame if isinstance(frame, bytes) else encode_frame(frame)
        attempt = 1
        while True:
            if self.until is not None and not is_live(self.until, self.wall_clock()):
                return Outcome.EXPIRED
            if not self.has_time(reserve):
                return Outcome.RETRY
            outcome = classify(post_status(self.management, self.connection_id, data))
            if outcome is Outcome.SENT:
                self.sent += 1
            if outcome is not Outcome.RETRY or attempt >= self.policy.attempts:
                return outcome
            self.sleep(self.policy.delay(attempt, self.rng))
            attempt += 1

    def has_time(self, reserve: float) -> bool:
        """More than ``reserve`` seconds left in the invocation."""
        return self.remaining is None or self.remaining() > reserve
