"""SQS queue operations one at a time, as a queue's own bookkeeping needs.

moto's SQS queue has no lock of its own, and the emulator calls it from many threads at once:
the bus's deliveries send, the event source receives, finished invocations delete, the
dispatcher shortens a failed record's visibility. A delete rebuilds the queue's message list from
a copy, so unguarded, a message sent (or another one deleted) meanwhile is lost (or comes back);
the set of messages in flight, which holds a FIFO group back, races the same way, and a deleted
message can hold its user's group back for good. So every operation that reads or changes a
queue's messages runs under one lock. None of them waits while holding it: a long poll waits
between immediate receives, each under the lock (``sqs_long_poll``).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["OPERATIONS", "QUEUE_LOCK", "serialize_queue_operations"]

# Re-entrant: a batch operation calls its single one.
QUEUE_LOCK = threading.RLock()
OPERATIONS = (
    "send_message",
    "send_message_batch",
    "delete_message",
    "delete_message_batch",
    "change_message_visibility",
    "change_message_visibility_batch",
    "purge_queue",
)


def serialize_queue_operations() -> None:
    """Make each of moto's ``SQSBackend`` queue operations hold ``QUEUE_LOCK``; idempotent.

    Receives are not wrapped here: ``sqs_long_poll.recheck_groups_while_polling`` holds the lock
    for each immediate receive it makes, and never while it waits."""
    from moto.sqs.models import SQSBackend

    for name in OPERATIONS:
        operation = getattr(SQSBackend, name)
        if not getattr(operation, "serialized", False):
            setattr(SQSBackend, name, _holding_the_lock(operation))


def _holding_the_lock(operation: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(operation)
    def serialized(*args: Any, **kwargs: Any) -> Any:
        with QUEUE_LOCK:
            return operation(*args, **kwargs)

    serialized.serialized = True  # type: ignore[attr-defined]
    return serialized
