"""Presence: a user's connections learn how many of that user's devices are online.

``$connect`` posts nothing: it cannot post to the connection it is still opening, and telling
every sibling there would put their posts in the handshake (n^2 posts for n tabs opening at once,
and a ``$connect`` that times out leaves an orphan row). A new connection asks with
``{"action": "presence"}`` once open (the browser client always does); ``$default`` answers the
asker, then tells the user's other connections the same count. ``$disconnect`` and the session
sweeper tell the remaining ones. The posts to the others run at once on a small bounded pool, and
none starts once the caller's time is nearly up. Best effort: a failed post loses one count, the
next change or ask corrects it. One GSI query plus one post per connection told.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING

from healthcoach_realtime.frames import Frame, encode_frame, post_status, presence_frame

if TYPE_CHECKING:
    from mypy_boto3_apigatewaymanagementapi import ApiGatewayManagementApiClient

    from healthcoach_realtime.connections import ConnectionStore

__all__ = ["PRESENCE_MARGIN_SECONDS", "PRESENCE_WORKERS", "announce_presence", "tell"]

# Posts in flight at once: a user has at most MAX_CONNECTIONS_PER_USER (10) connections.
PRESENCE_WORKERS = 8
# Kept for the caller after the presence posts: no post starts, and the wait ends, this long
# before the invocation's end.
PRESENCE_MARGIN_SECONDS = 0.5


def announce_presence(
    store: ConnectionStore,
    management: ApiGatewayManagementApiClient,
    user_id: str,
    *,
    exclude: Collection[str] = (),
    joined: Collection[str] = (),
    left: Collection[str] = (),
    remaining: Callable[[], float] | None = None,
) -> int:
    """Post the user's current count to each of their connections not in ``exclude``; the count.

    The index lags its table: ``joined`` are connections known to be open that it may not show
    yet, ``left`` connections known to be closed that it may still show."""
    connection_ids = sorted({*store.connection_ids_of(user_id), *joined} - set(left))
    others = [c for c in connection_ids if c not in exclude]
    tell(management, others, presence_frame(len(connection_ids)), remaining=remaining)
    return len(connection_ids)


def tell(
    management: ApiGatewayManagementApiClient,
    connection_ids: Sequence[str],
    frame: Frame,
    *,
    remaining: Callable[[], float] | None = None,
    workers: int = PRESENCE_WORKERS,
) -> int:
    """Post ``frame`` to every connection at once (at most ``workers`` in flight); how many
    accepted it. ``remaining``: seconds left in the invocation (``None``: unbounded); no post
    starts, and the wait for those started ends, ``PRESENCE_MARGIN_SECONDS`` before the end (a
    post still in flight then finishes on its own or not at all: best effort)."""
    if not connection_ids:
        return 0
    data = encode_frame(frame)

    def has_time() -> bool:
        return remaining is None or remaining() > PRESENCE_MARGIN_SECONDS

    def post(connection_id: str) -> bool:
        if not has_time():
            return False
        status = post_status(management, connection_id, data)
        return status is not None and 200 <= status < 300

    pool = ThreadPoolExecutor(max_workers=min(workers, len(connection_ids)), thread_name_prefix="presence")
    try:
        futures = [pool.submit(post, connection_id) for connection_id in connection_ids]
        timeout = None if remaining is None else max(0.0, remaining() - PRESENCE_MARGIN_SECONDS)
        done, _ = wait(futures, timeout=timeout)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return sum(1 for future in done if _accepted(future))


def _accepted(future: Future[bool]) -> bool:
    """The post's answer was 2xx (an unexpected error in it counts as not accepted)."""
    return future.exception() is None and future.result()
