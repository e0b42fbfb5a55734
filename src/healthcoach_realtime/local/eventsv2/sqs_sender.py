"""How deliveries reach SQS: the sender protocol, and two senders.

``MotoSqsSender`` hands the message to moto's SQS backend in this process, as moto's own
EventBridge hands a rule's target its events (the emulator runs moto in-process): the same
checks and errors as SendMessage, without serializing a request and parsing its answer (about
2 ms of CPU a delivery). ``Emulator`` uses it.

The delivery engine calls ``sender.send(message)``; a sender raises ``DeliveryError`` (or any
exception) when SQS refuses, which counts as a failed attempt. ``Boto3SqsSender`` sends to
the emulator's own endpoint: one client per (account, region) of the target queue, made with
boto3's default session (so a process that routes its default-session clients in-process,
``in_process.route_to_app``, routes these too), each request naming the queue's owner to moto
(``x-moto-account-id``: moto picks an SQS backend by account, not by queue URL). botocore's
own retries are off: the engine's retry policy is the only one. Queue URLs come from
``GetQueueUrl`` and are remembered per ARN until a send says the queue is gone.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from healthcoach_realtime.local.eventsv2.exceptions import DeliveryError

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

    from healthcoach_realtime.local.eventsv2.arns import QueueArn
    from healthcoach_realtime.local.eventsv2.subscribers import SqsMessage

__all__ = ["Boto3SqsSender", "MotoSqsSender", "SqsSender", "refuse_what_sqs_refuses"]

_GONE = ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist")


class SqsSender(Protocol):
    """Sends one message; raises when SQS refuses it."""

    def send(self, message: SqsMessage) -> None: ...


ClientFactory = Callable[[str, str, str], "SQSClient"]
"""(endpoint URL, account, region) -> an SQS client for that account's queues."""


def refuse_what_sqs_refuses(message: SqsMessage) -> None:
    """SQS refuses a FIFO message without ``MessageGroupId`` whatever the queue's settings; moto
    only when content-based deduplication is off. The emulator must not be kinder than AWS."""
    if message.queue.fifo and not message.group_id:
        raise DeliveryError("MissingParameter", "The request must contain the parameter MessageGroupId.")


class MotoSqsSender:
    """SendMessage straight into moto's SQS backend of the queue's account and region."""

    def send(self, message: SqsMessage) -> None:
        """Raises ``DeliveryError`` with SQS's error code when SQS (moto) refuses the message."""
        from moto.core.exceptions import ServiceException
        from moto.sqs.models import sqs_backends

        refuse_what_sqs_refuses(message)
        queue = message.queue
        try:
            sqs_backends[queue.account][queue.region].send_message(
                queue.name,
                message.body,
                delay_seconds=message.delay_seconds,
                deduplication_id=message.deduplication_id,
                group_id=message.group_id,
            )
        except ServiceException as exc:
            raise DeliveryError(str(exc.code), str(exc.message)) from None


class Boto3SqsSender:
    """SendMessage through boto3 to ``endpoint_url`` (set later with ``use_endpoint``)."""

    def __init__(
        self, endpoint_url: str | None = None, *, client_factory: ClientFactory | None = None
    ) -> None:
        self._endpoint_url = endpoint_url
        self._factory = client_factory or _default_client
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str], SQSClient] = {}
        self._urls: dict[str, str] = {}

    def use_endpoint(self, endpoint_url: str) -> None:
        """Send to ``endpoint_url`` from now on (the emulator's, once it is bound)."""
        with self._lock:
            self._endpoint_url = endpoint_url
            self._clients.clear()
            self._urls.clear()

    def send(self, message: SqsMessage) -> None:
        """SendMessage; ``DeliveryError`` with SQS's error code when it is refused."""
        refuse_what_sqs_refuses(message)
        client = self._client(message.queue)
        request: dict[str, Any] = {
            "QueueUrl": self._queue_url(client, message.queue),
            "MessageBody": message.body,
        }
        if message.group_id is not None:
            request["MessageGroupId"] = message.group_id
        if message.deduplication_id is not None:
            request["MessageDeduplicationId"] = message.deduplication_id
        if message.delay_seconds is not None:
            request["DelaySeconds"] = message.delay_seconds
        try:
            client.send_message(**request)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code", "ClientError"))
            if code in _GONE:
                with self._lock:
                    self._urls.pop(message.queue.arn, None)
            raise DeliveryError(code, str(error.get("Message", exc))) from None
        except BotoCoreError as exc:
            raise DeliveryError("InternalFailure", str(exc)) from None

    def _client(self, queue: QueueArn) -> SQSClient:
        key = (queue.account, queue.region)
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                if self._endpoint_url is None:
                    raise DeliveryError("InternalFailure", "the EventsV2 emulator has no SQS endpoint yet")
                client = self._clients[key] = self._factory(self._endpoint_url, queue.account, queue.region)
            return client

    def _queue_url(self, client: SQSClient, queue: QueueArn) -> str:
        url = self._urls.get(queue.arn)
        if url is not None:
            return url
        try:
            url = client.get_queue_url(QueueName=queue.name, QueueOwnerAWSAccountId=queue.account)["QueueUrl"]
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise DeliveryError(
                str(error.get("Code", "ClientError")), str(error.get("Message", exc))
            ) from None
        with self._lock:
            self._urls[queue.arn] = url
        return url


def _default_client(endpoint_url: str, account: str, region: str) -> SQSClient:
    client = boto3.client(
        "sqs",
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id="eventsv2-emulator",
        aws_secret_access_key="eventsv2-emulator",  # noqa: S106 - moto checks no secret
        # A connection per delivery worker (16 by default): a smaller pool drops and reopens them.
        config=Config(retries={"total_max_attempts": 1}, max_pool_connections=64),
    )

    def name_the_owner(params: dict[str, Any], **_: Any) -> None:
        params["headers"]["x-moto-account-id"] = account

    client.meta.events.register("before-call.sqs", name_the_owner)
    return client
