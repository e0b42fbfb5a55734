"""Lambda's event source mappings, emulated: SQS -> dispatcher, DynamoDB streams -> stream bridge.

Each poller is a plain thread (boto3 blocks; the gateway's event loop must not) that builds the
exact batch events Lambda builds (``source_events``) and honours the answer as Lambda does:

- SQS: one receiver long-polls up to 10 messages at a time and hands each batch to an invocation
  of its own, up to ``max_batches`` batches in flight (``SqsEventSource``), as Lambda's pollers
  do. On a FIFO queue SQS itself keeps a message group out of every other batch while one of
  its messages is in flight, so a user's events are never handled by two invocations at once
  (one receiver, because moto reads the groups in flight once per ReceiveMessage: a second
  long poll could take a group's later messages while the first batch still holds earlier
  ones). Delete only the records that succeeded. Records named in
  ``batchItemFailures`` (all of them if the handler raised) stay on the queue, come back after
  the visibility timeout, and move to the DLQ after ``maxReceiveCount`` receives (moto applies
  the queue's redrive policy). Locally the visibility timeout is short (receive parameter), so a
  redelivery takes seconds, not the deployed queue's minute.
- Streams: read every shard from its start (the tables are new), once a second and again at once
  after a pass that found records. Lambda polls four times a second, but here every poll is a
  request to the in-process emulator: four tables at that rate added ~5 ms to the emit -> frame
  p90 (``bench/latency.py``). A failed batch is retried from the first failed sequence
  number, then dropped with an error log (Lambda's ``MaximumRetryAttempts``), so one bad record
  cannot stall the shard.

``invoke`` is any ``event -> response`` callable; the stack passes ``FunctionPool.invoke``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from healthcoach_realtime.local.source_events import failed_item_ids, sqs_event, stream_event

if TYPE_CHECKING:
    from mypy_boto3_dynamodbstreams import DynamoDBStreamsClient
    from mypy_boto3_dynamodbstreams.type_defs import RecordTypeDef
    from mypy_boto3_sqs import SQSClient

__all__ = ["PollerThread", "SqsEventSource", "SqsPoller", "StreamPoller"]

log = logging.getLogger(__name__)

Invoke = Callable[[dict[str, Any]], Any]

SQS_BATCH_SIZE = 10
STREAM_BATCH_SIZE = 100
STREAM_POLL_SECONDS = 1.0
STREAM_MAX_RETRIES = 3
SHARD_DISCOVERY_SECONDS = 10.0


class SqsPoller:
    """One receive -> invoke -> delete cycle per ``poll_once``."""

    def __init__(
        self,
        *,
        sqs: SQSClient,
        queue_url: str,
        queue_arn: str,
        region: str,
        invoke: Invoke,
        visibility_timeout: int = 5,
        wait_seconds: int = 1,
    ) -> None:
        self._sqs = sqs
        self._queue_url = queue_url
        self._queue_arn = queue_arn
        self._region = region
        self._invoke = invoke
        self._visibility_timeout = visibility_timeout
        self._wait_seconds = wait_seconds

    def poll_once(self) -> float:
        """Handle one batch (or none after the long poll); returns 0: poll again at once."""
        messages = self.receive()
        if messages:
            self.handle(messages)
        return 0.0

    def receive(self) -> list[Any]:
        """One long poll: up to ``SQS_BATCH_SIZE`` messages, now invisible to other receives."""
        response = self._sqs.receive_message(
            QueueUrl=self._queue_url,
            MaxNumberOfMessages=SQS_BATCH_SIZE,
            WaitTimeSeconds=self._wait_seconds,
            VisibilityTimeout=self._visibility_timeout,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return list(response.get("Messages", []))

    def handle(self, messages: Sequence[Any]) -> None:
        """Invoke with the batch, then delete what succeeded (the rest comes back later)."""
        event = sqs_event(messages, queue_arn=self._queue_arn, region=self._region)
        ids = [record["messageId"] for record in event["Records"]]
        try:
            failed = failed_item_ids(self._invoke(event), ids)
        except Exception:
            log.exception("SQS batch handler raised: the whole batch of %d will be redelivered", len(ids))
            failed = set(ids)
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            self._sqs.delete_message_batch(
                QueueUrl=self._queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        if failed:
            log.warning(
                "%d of %d SQS records failed: redelivered after the visibility timeout", len(failed), len(ids)
            )


class SqsEventSource:
    """Lambda's SQS event source mapping: one receiver, up to ``max_batches`` batches in flight.

    ``step`` fits ``PollerThread``: it waits for a free slot, receives, and hands a non-empty
    batch to a worker thread (whose invocation runs in an execution environment of its own).
    """

    def __init__(self, poller: SqsPoller, *, max_batches: int, stop: threading.Event) -> None:
        self._poller = poller
        self._slots = threading.BoundedSemaphore(max_batches)
        self._stop = stop
        self._workers = ThreadPoolExecutor(max_workers=max_batches, thread_name_prefix="sqs-batch")

    def step(self) -> float:
        """Receive one batch once a slot is free and start handling it; 0: step again at once."""
        while not self._slots.acquire(timeout=0.2):
            if self._stop.is_set():
                return 0.0
        try:
            messages = self._poller.receive()
        except BaseException:
            self._slots.release()
            raise
        if not messages:
            self._slots.release()
            return 0.0
        self._workers.submit(self._handle, messages)
        return 0.0

    def close(self) -> None:
        """Wait for the batches in flight (their invocations end within their timeout)."""
        self._workers.shutdown(wait=True, cancel_futures=True)

    def _handle(self, messages: list[Any]) -> None:
        try:
            self._poller.handle(messages)
        except Exception:
            log.exception(
                "SQS batch of %d not handled: redelivered after its visibility timeout", len(messages)
            )
        finally:
            self._slots.release()


class StreamPoller:
    """Reads the shards of some DynamoDB streams; one pass over every shard per ``poll_once``."""

    def __init__(
        self,
        *,
        streams: DynamoDBStreamsClient,
        stream_arns: Sequence[str],
        invoke: Invoke,
        stop: threading.Event | None = None,
        max_retries: int = STREAM_MAX_RETRIES,
    ) -> None:
        self._streams = streams
        self._stream_arns = list(stream_arns)
        self._invoke = invoke
        self._stop = stop or threading.Event()
        self._max_retries = max_retries
        self._iterators: dict[tuple[str, str], str] = {}
        self._finished: set[tuple[str, str]] = set()
        self._discovered_at = float("-inf")

    def poll_once(self) -> float:
        """Deliver whatever the shards hold; returns the pause before the next pass (none after records)."""
        if time.monotonic() - self._discovered_at > SHARD_DISCOVERY_SECONDS:
            self._discover()
        found = False
        for key, iterator in list(self._iterators.items()):
            response = self._streams.get_records(ShardIterator=iterator, Limit=STREAM_BATCH_SIZE)
            records = response.get("Records", [])
            if records:
                found = True
                self._deliver(key[0], records)
            following = response.get("NextShardIterator")
            if following:
                self._iterators[key] = following
            else:
                del self._iterators[key]
                self._finished.add(key)
        return 0.0 if found else STREAM_POLL_SECONDS

    def _discover(self) -> None:
        for arn in self._stream_arns:
            shards = self._streams.describe_stream(StreamArn=arn)["StreamDescription"].get("Shards", [])
            for shard in shards:
                key = (arn, shard["ShardId"])
                if key in self._iterators or key in self._finished:
                    continue
                self._iterators[key] = self._streams.get_shard_iterator(
                    StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]
        self._discovered_at = time.monotonic()

    def _deliver(self, stream_arn: str, records: Sequence[RecordTypeDef]) -> None:
        pending: Sequence[Any] = records
        for attempt in range(self._max_retries + 1):
            event = stream_event(pending, stream_arn=stream_arn)
            sequence = [record["dynamodb"]["SequenceNumber"] for record in event["Records"]]
            try:
                failed = failed_item_ids(self._invoke(event), sequence)
            except Exception:
                log.exception("stream batch handler raised")
                failed = set(sequence)
            if not failed:
                return
            first = next(i for i, number in enumerate(sequence) if number in failed)
            pending = pending[first:]
            if attempt < self._max_retries and self._stop.wait(0.2 * 2**attempt):
                return
        log.error(
            "dropped %d stream records of %s after %d retries (first sequence number %s)",
            len(pending),
            stream_arn,
            self._max_retries,
            pending[0]["dynamodb"]["SequenceNumber"],
        )


class PollerThread(threading.Thread):
    """Runs ``step`` until stopped; ``step`` returns how long to pause before the next call.

    An exception is logged (once per streak, so a stopped emulator does not flood the console)
    and retried with backoff.
    """

    def __init__(self, name: str, step: Callable[[], float], stop: threading.Event) -> None:
        super().__init__(name=name, daemon=True)
        self._step = step
        self._stop_event = stop

    def run(self) -> None:
        failures = 0
        while not self._stop_event.is_set():
            try:
                pause = self._step()
                failures = 0
            except Exception as exc:
                if self._stop_event.is_set():
                    return
                failures += 1
                if failures == 1:
                    log.warning("%s: %s: %s (retrying)", self.name, type(exc).__name__, exc)
                pause = min(5.0, 0.1 * 2**failures)
            if pause:
                self._stop_event.wait(pause)
