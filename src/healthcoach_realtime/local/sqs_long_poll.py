"""SQS long polling on a FIFO queue as SQS does it: a message group frees up as soon as its batch
is deleted, even for a receive that is already waiting.

moto 5.2's ``receive_message`` reads which message groups are in flight once, when the call
starts, and then waits (up to ``WaitTimeSeconds``) with that list. While several batches are in
flight (the local stack's event source keeps up to ten), a receive that starts while a user's
batch is still being handled skips that user's group for its whole wait: each of the user's
later events would arrive up to a second late. Worse, while visible messages exist only in
groups held by others, moto's wait returns at once and the call spins on the CPU.

``recheck_groups_while_polling`` makes each wait a series of immediate receives (each reads the
groups afresh), a short pause apart, until one finds messages or the wait is over. Each
immediate receive holds ``sqs_atomic.QUEUE_LOCK``, as every other queue operation does; the
waits between them do not.
"""

from __future__ import annotations

import time
from typing import Any

from healthcoach_realtime.local.sqs_atomic import QUEUE_LOCK

__all__ = ["RECHECK_SECONDS", "recheck_groups_while_polling"]

# How often a waiting receive looks again while the queue's visible messages are all in groups
# held by other batches (a delete does not wake a waiting receive).
RECHECK_SECONDS = 0.005
# How long a waiting receive on a queue with no visible message sleeps before looking again
# (a new message wakes it at once; a message whose visibility timeout ends does not).
IDLE_RECHECK_SECONDS = 0.1


def recheck_groups_while_polling() -> None:
    """Replace moto's ``SQSBackend.receive_message`` with the rechecking one; idempotent."""
    from moto.sqs.models import SQSBackend

    if getattr(SQSBackend.receive_message, "rechecks_groups", False):
        return
    moto_receive = SQSBackend.receive_message

    def receive_message(
        self: Any,
        queue_name: str,
        count: int,
        wait_seconds_timeout: int,
        visibility_timeout: int,
        message_attribute_names: list[str] | None = None,
    ) -> list[Any]:
        deadline = time.monotonic() + wait_seconds_timeout
        while True:
            with QUEUE_LOCK:
                result: list[Any] = moto_receive(
                    self, queue_name, count, 0, visibility_timeout, message_attribute_names
                )
                queue = self.get_queue(queue_name)
                held_back = bool(queue.messages)  # visible, but in groups of batches in flight
            left = deadline - time.monotonic()
            if result or left <= 0:
                return result
            if held_back:
                time.sleep(min(RECHECK_SECONDS, left))
            else:
                queue.wait_for_messages(min(IDLE_RECHECK_SECONDS, left))

    receive_message.rechecks_groups = True  # type: ignore[attr-defined]
    receive_message.moto = moto_receive  # type: ignore[attr-defined]
    SQSBackend.receive_message = receive_message  # type: ignore[method-assign]
