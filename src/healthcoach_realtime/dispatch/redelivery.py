"""Records reported for redelivery come back after seconds, not after the visibility timeout.

A record in ``batchItemFailures`` stays in flight until the queue's visibility timeout (180 s:
six times the dispatcher's timeout) runs out. On the FIFO dispatch queue that holds back its
whole message group, every user hashed to it, for as long. So the dispatcher shortens the
visibility of each failed record (ChangeMessageVisibility, which the event source mapping's
grant already allows) to a delay that grows with its receive count. Best effort: if SQS refuses,
the record still comes back after the full timeout, and nothing is lost.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from healthcoach_realtime.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import ChangeMessageVisibilityBatchRequestEntryTypeDef

__all__ = ["RETRY_DELAYS_SECONDS", "Hastened", "QueueUrls", "hasten_redelivery", "retry_delay", "to_hasten"]

# After the 1st, 2nd, 3rd+ receive fails. The first leaves room for the invocation to finish
# answering before the record is visible again; the last gives a broader outage time to pass.
RETRY_DELAYS_SECONDS = (5, 20, 60)
_BATCH_LIMIT = 10  # entries per ChangeMessageVisibilityBatch


@dataclass(frozen=True)
class Hastened:
    """A failed record: where it is, its receipt, and how long until SQS shows it again."""

    queue_arn: str
    message_id: str
    receipt_handle: str
    delay_seconds: int


def retry_delay(receive_count: int, longest: int) -> int:
    """Seconds until a record that failed on its ``receive_count``-th receive is seen again,
    at most ``longest`` (``REDELIVERY_DELAY_MAX_SECONDS``: never later than the receive's own
    visibility timeout, which a local stack keeps short)."""
    return min(longest, RETRY_DELAYS_SECONDS[min(max(receive_count, 1), len(RETRY_DELAYS_SECONDS)) - 1])


def to_hasten(sqs_event: Mapping[str, Any], response: Mapping[str, Any], *, longest: int) -> list[Hastened]:
    """The failed records of ``response`` that SQS can be asked to show again sooner. Pure."""
    failed = {str(f.get("itemIdentifier", "")) for f in response.get("batchItemFailures", [])}
    hastened = []
    for record in sqs_event.get("Records", []):
        if not isinstance(record, Mapping) or str(record.get("messageId", "")) not in failed:
            continue
        arn, receipt = record.get("eventSourceARN"), record.get("receiptHandle")
        if not isinstance(arn, str) or not isinstance(receipt, str) or not arn or not receipt:
            continue  # not from an SQS queue we can address: the full timeout applies
        attributes = record.get("attributes")
        count = attributes.get("ApproximateReceiveCount", "1") if isinstance(attributes, Mapping) else "1"
        receives = int(count) if str(count).isdigit() else 1
        hastened.append(Hastened(arn, str(record["messageId"]), receipt, retry_delay(receives, longest)))
    return hastened


def hasten_redelivery(sqs: SQSClient, queue_url_of: Callable[[str], str], records: Sequence[Hastened]) -> int:
    """Shorten each record's visibility; returns how many SQS accepted (never raises).

    ``queue_url_of`` maps a queue ARN to its URL (``QueueUrls``)."""
    accepted = 0
    for arn, chunk in _chunks_per_queue(records):
        entries: list[ChangeMessageVisibilityBatchRequestEntryTypeDef] = [
            {"Id": str(n), "ReceiptHandle": r.receipt_handle, "VisibilityTimeout": r.delay_seconds}
            for n, r in enumerate(chunk)
        ]
        try:
            result = sqs.change_message_visibility_batch(QueueUrl=queue_url_of(arn), Entries=entries)
        except (BotoCoreError, ClientError):
            logger.warning(
                "redelivery not hastened: back after the visibility timeout",
                extra={"message_ids": [r.message_id for r in chunk]},
                exc_info=True,
            )
            continue
        refused = {f["Id"]: f.get("Code", "") for f in result.get("Failed", [])}
        if refused:
            logger.warning(
                "redelivery not hastened for some records: back after the visibility timeout",
                extra={"refused": {chunk[int(i)].message_id: code for i, code in refused.items()}},
            )
        accepted += len(chunk) - len(refused)
    if accepted:
        logger.info(
            "redelivery hastened",
            extra={"records": accepted, "delays_seconds": sorted({r.delay_seconds for r in records})},
        )
    return accepted


class QueueUrls:
    """Queue ARN -> queue URL, asked of SQS once per queue and process (GetQueueUrl)."""

    def __init__(self, sqs: SQSClient) -> None:
        self._sqs = sqs
        self._urls: dict[str, str] = {}

    def __call__(self, arn: str) -> str:
        if arn not in self._urls:
            *_, account, name = arn.split(":")
            response = self._sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)
            self._urls[arn] = response["QueueUrl"]
        return self._urls[arn]


def _chunks_per_queue(records: Sequence[Hastened]) -> Iterator[tuple[str, list[Hastened]]]:
    by_queue: dict[str, list[Hastened]] = {}
    for record in records:
        by_queue.setdefault(record.queue_arn, []).append(record)
    for arn, queued in by_queue.items():
        for start in range(0, len(queued), _BATCH_LIMIT):
            yield arn, queued[start : start + _BATCH_LIMIT]
