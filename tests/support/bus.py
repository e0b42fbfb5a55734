"""A Custom Event Bus of a test's own on the emulator, feeding a queue of its own.

``subscribed_queue`` makes what ``infra/`` deploys in small: a bus and one subscriber with the
dispatch filter (the catalogue) to a fresh queue. A FIFO queue gets the deployed FIFO
subscriber (one message group per user, deduplicated by the bus's event id); a standard queue
an UNORDERED one, whose deliveries the emulator reorders.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from typing import Any

from healthcoach_realtime.local.provision import create_subscriber
from healthcoach_realtime.resources import SUBSCRIBERS
from tests.support.sqs_events import queue_arn

__all__ = ["SubscribedQueue", "subscribed_queue"]

DISPATCH = SUBSCRIBERS[0]


@dataclass(frozen=True)
class SubscribedQueue:
    """The bus and the queue its subscriber delivers to."""

    bus_arn: str
    queue_url: str
    queue_arn: str


def subscribed_queue(
    bus: Any, sqs: Any, prefix: str, *, fifo: bool, attributes: dict[str, str] | None = None
) -> SubscribedQueue:
    """A bus ``<prefix>-<random>`` whose dispatch subscriber feeds a new queue with ``attributes``."""
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    queue_attributes = dict(attributes or {})
    if fifo:
        queue_attributes.update(FifoQueue="true", ContentBasedDeduplication="true")
    url = sqs.create_queue(QueueName=f"{name}.fifo" if fifo else name, Attributes=queue_attributes)[
        "QueueUrl"
    ]
    arn = queue_arn(sqs, url)
    fifo_attributes = {"FifoQueue": "true", "ContentBasedDeduplication": "true"} if fifo else {}
    failures_name = f"{name}-failures.fifo" if fifo else f"{name}-failures"
    failures = queue_arn(
        sqs, sqs.create_queue(QueueName=failures_name, Attributes=fifo_attributes)["QueueUrl"]
    )
    bus_arn = bus.create_event_bus(Name=name)["EventBusArn"]
    spec = (
        DISPATCH
        if fifo
        else dataclasses.replace(DISPATCH, type="UNORDERED", message_group_id=None, deduplication_id=None)
    )
    create_subscriber(
        bus, dataclasses.replace(spec, name=name), bus_arn=bus_arn, target_arn=arn, on_failure_arn=failures
    )
    return SubscribedQueue(bus_arn, str(url), arn)
