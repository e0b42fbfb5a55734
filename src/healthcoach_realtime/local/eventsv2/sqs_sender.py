"""How deliveries reach SQS: the sender protocol, and moto's SQS in this process.

The delivery engine calls ``sender.send(message)``; a sender raises ``DeliveryError`` (or any
exception) when SQS refuses, which counts as a failed attempt (the engine's retry policy is the
only one). ``MotoSqsSender`` hands the message to moto's SQS backend of the queue's account and
region, as moto's own EventBridge hands a rule's target its events (the emulator runs moto in
its process): the same checks and errors as SendMessage, without serializing a request and
parsing its answer (through boto3 a delivery cost 7.4 ms of CPU per event, directly 3.1 ms).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from healthcoach_realtime.local.eventsv2.exceptions import DeliveryError

if TYPE_CHECKING:
    from healthcoach_realtime.local.eventsv2.subscribers import SqsMessage

__all__ = ["MotoSqsSender", "SqsSender", "refuse_what_sqs_refuses"]


class SqsSender(Protocol):
    """Sends one message; raises when SQS refuses it."""

    def send(self, message: SqsMessage) -> None: ...


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
