"""Dead-lettering: a record that can never be delivered goes to an SQS queue, with its reason.

Used by the dispatcher (an invalid event on the bus) and the stream bridge (an item that does
not make a valid event). Retrying such a record cannot help, dropping it would lose it
silently: it is parked, with the reason as a message attribute, for a human to look at::

    queue = DeadLetterQueue(sqs_client(), settings.dead_letter_queue_url, origin="dispatcher")
    if not queue.park(body, "unknown event type 'pizzaOrdered'", record_id=message_id):
        ...  # SQS refused: report the record failed, so it is retried rather than lost
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from healthcoach_realtime.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

__all__ = ["MAX_BODY_BYTES", "DeadLetterQueue"]

# SQS's 256 KiB message limit counts the body and the attributes: keep room for the attributes.
MAX_BODY_BYTES = 256 * 1024 - 4 * 1024
MAX_REASON_CHARS = 1000


class DeadLetterQueue:
    """Sends to the queue at ``queue_url``; ``origin`` says which component parked the record."""

    def __init__(self, client: SQSClient, queue_url: str, *, origin: str) -> None:
        self._client = client
        self._queue_url = queue_url
        self._origin = origin

    def park(self, body: str, reason: str, *, record_id: str) -> bool:
        """Log (ids and reason only) and send one record; False when SQS refused it, e.g. a body
        over ``MAX_BODY_BYTES``, so the caller can have the record retried instead."""
        logger.warning("record dead-lettered", extra={"record_id": record_id, "reason": reason})
        try:
            self._client.send_message(
                QueueUrl=self._queue_url,
                MessageBody=body,
                **self._fifo_parameters(record_id),
                MessageAttributes={
                    "reason": {"DataType": "String", "StringValue": reason[:MAX_REASON_CHARS] or "unknown"},
                    "origin": {"DataType": "String", "StringValue": self._origin},
                    "recordId": {"DataType": "String", "StringValue": record_id or "unknown"},
                },
            )
        except (BotoCoreError, ClientError):
            logger.exception("dead-lettering failed", extra={"record_id": record_id})
            return False
        return True

    def _fifo_parameters(self, record_id: str) -> dict[str, Any]:
        """A FIFO queue (the dispatch DLQ) needs a group; the same record parked twice is one."""
        if not self._queue_url.endswith(".fifo"):
            return {}
        dedupe = hashlib.sha256(f"{self._origin}:{record_id}".encode()).hexdigest()
        return {"MessageGroupId": self._origin, "MessageDeduplicationId": dedupe}
