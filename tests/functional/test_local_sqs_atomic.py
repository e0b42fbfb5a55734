"""A FIFO queue stays consistent while many threads send, receive and delete at once, as the
emulator's threads (bus deliveries, the event source, finished invocations) do
(``local/sqs_atomic.py``). moto's queue has no lock of its own: a delete rebuilt the message
list while a send appended to it, and a receive's in-flight bookkeeping raced deletes, so a
message could vanish or a deleted one hold its group back for good."""

from __future__ import annotations

import sys
import threading
import time
import uuid
from typing import Any

import boto3

ROUNDS = 400
GROUPS = 20


def test_concurrent_sends_receives_and_deletes_lose_nothing_and_free_every_group(
    aws_env: str, moto_endpoint: str
) -> None:
    from moto.sqs.models import sqs_backends

    name = f"atomic-{uuid.uuid4().hex[:8]}.fifo"
    boto3.client("sqs", endpoint_url=moto_endpoint).create_queue(
        QueueName=name, Attributes={"FifoQueue": "true", "VisibilityTimeout": "300"}
    )
    backend: Any = sqs_backends["123456789012"]["us-east-1"]
    queue = backend.get_queue(name)
    received: list[Any] = []
    sending_done = threading.Event()

    def send(worker: int) -> None:
        for n in range(ROUNDS):
            backend.send_message(
                name,
                f"{worker}-{n}",
                group_id=f"g{(worker * ROUNDS + n) % GROUPS}",
                deduplication_id=f"{worker}-{n}",
            )

    def receive() -> None:
        deadline = time.monotonic() + 30  # a group held back for good would keep messages forever
        while not (sending_done.is_set() and not queue.messages) and time.monotonic() < deadline:
            batch = backend.receive_message(name, 10, 0, 300)
            received.extend(batch)
            threading.Thread(target=delete, args=(batch,)).start()

    def delete(batch: list[Any]) -> None:
        for message in batch:
            backend.delete_message(name, message.receipt_handle)

    senders = [threading.Thread(target=send, args=(w,)) for w in range(4)]
    receiver = threading.Thread(target=receive)
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads take turns far more often: races show within a second
    try:
        for thread in (*senders, receiver):
            thread.start()
        for thread in senders:
            thread.join()
        sending_done.set()
        receiver.join()
    finally:
        sys.setswitchinterval(switch_interval)

    bodies = sorted(m.body for m in received)
    assert len(bodies) == len(set(bodies))  # none delivered twice
    assert set(bodies) == {f"{w}-{n}" for w in range(4) for n in range(ROUNDS)}  # none lost
    threading.Event().wait(1)  # the last deletes
    assert queue.pending_message_groups == set()  # no deleted message holds its group back


def test_a_waiting_long_poll_does_not_hold_the_queues(aws_env: str, moto_endpoint: str) -> None:
    """While a receive waits on an empty queue, every other queue operation can go on."""
    from moto.sqs.models import sqs_backends

    from healthcoach_realtime.local.sqs_atomic import QUEUE_LOCK

    name = f"atomic-wait-{uuid.uuid4().hex[:8]}"
    boto3.client("sqs", endpoint_url=moto_endpoint).create_queue(QueueName=name)
    backend: Any = sqs_backends["123456789012"]["us-east-1"]
    waiting = threading.Thread(target=backend.receive_message, args=(name, 1, 2, 30))
    waiting.start()
    time.sleep(0.3)
    acquired = QUEUE_LOCK.acquire(timeout=1)
    if acquired:
        QUEUE_LOCK.release()
    waiting.join()
    assert acquired
