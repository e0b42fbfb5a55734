"""An embedded emulator with EventsV2 for a test module, and boto3 clients on it.

``running_emulator`` starts one on a free loopback port and, when the module is done, stops it
and puts back the speed-ups ``Emulator.start`` installs in moto's modules, so later tests in the
same process see moto as they found it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest

from healthcoach_realtime.local.emulator import Emulator
from healthcoach_realtime.local.eventsv2 import EventsV2Options
from tests.support.network import free_port

__all__ = [
    "EVENT_ID",
    "GROUP_OR_USER",
    "REGION",
    "ROLE",
    "client",
    "client_fixture",
    "queue",
    "running_emulator",
]

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/eventsv2-delivery"
GROUP_OR_USER = (
    "{% $exists($events.SystemMetadata.EventGroupId) ? $events.SystemMetadata.EventGroupId "
    ": $events.Data.detail.userId %}"
)
EVENT_ID = '{% $events.SystemMetadata."aws:EventId" %}'


@contextmanager
def running_emulator(options: EventsV2Options) -> Iterator[Emulator]:
    """A real emulator (moto + EventsV2 with ``options``) on a free loopback port."""
    with pytest.MonkeyPatch.context() as patch:
        _keep_moto_as_found(patch)
        started = Emulator(free_port(), eventsv2=options)
        started.start()
        try:
            yield started
        finally:
            started.stop()


def _keep_moto_as_found(patch: pytest.MonkeyPatch) -> None:
    """Have ``patch`` undo, when it is done, what ``Emulator.start`` replaces in moto's modules."""
    import moto.core.responses
    import moto.sqs.models
    from moto.dynamodb.models.table import Table

    patch.setattr(Table, "all_items", Table.all_items)
    replaced = [
        (moto.core.responses, "method_names_from_class"),
        *((moto.sqs.models, name) for name in ("unix_time", "unix_time_millis", "camelcase_to_underscores")),
    ]
    for module, name in replaced:
        patch.setattr(module, name, getattr(module, name))


def client(emulator: Emulator, service: str) -> Any:
    """boto3's client for ``service`` on the emulator."""
    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=emulator.endpoint_url,
        region_name=REGION,
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )


def client_fixture(service: str) -> Any:
    """A module-scoped fixture: boto3's ``service`` client on the module's ``emulator`` fixture.

    events = client_fixture("eventbridgev2")
    """

    def made(emulator: Emulator) -> Any:
        return client(emulator, service)

    made.__doc__ = f"boto3's {service} client on the emulator."
    return pytest.fixture(scope="module")(made)


def queue(sqs: Any, *, fifo: bool = True) -> tuple[str, str]:
    """A fresh SQS queue (FIFO unless told otherwise): its URL and ARN."""
    name = f"q-{uuid.uuid4().hex[:10]}" + (".fifo" if fifo else "")
    url = sqs.create_queue(QueueName=name, Attributes={"FifoQueue": "true"} if fifo else {})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn
