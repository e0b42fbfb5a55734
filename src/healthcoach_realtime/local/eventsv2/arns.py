"""The ARNs EventsV2 hands out and the SQS ARNs it is given, built and taken apart.

A bus is ``arn:aws:events:{region}:{account}:event-busv2/{name}/{id}`` and a subscriber
``arn:aws:events:{region}:{account}:subscriber/{name}/{id}``, the id being 25 characters of
``[a-z0-9]`` (the model's patterns), so a name reused after a delete gets a new ARN.
"""

from __future__ import annotations

import re
import secrets
import string
from dataclasses import dataclass

__all__ = ["QueueArn", "bus_arn", "parse_queue_arn", "partition_of", "resource_id", "subscriber_arn"]

_ID_ALPHABET = string.ascii_lowercase + string.digits
_QUEUE_ARN = re.compile(r"arn:(aws(?:-[a-z0-9]+)*):sqs:([a-z0-9-]+):(\d{12}):([A-Za-z0-9_.-]{1,80})")


@dataclass(frozen=True, slots=True)
class QueueArn:
    """An SQS queue named by its ARN."""

    arn: str
    region: str
    account: str
    name: str

    @property
    def fifo(self) -> bool:
        """SQS names every FIFO queue ``*.fifo``."""
        return self.name.endswith(".fifo")


def resource_id() -> str:
    """A fresh 25-character id of ``[a-z0-9]``."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(25))


def partition_of(region: str) -> str:
    """``aws``, or the partition a region's prefix names (``cn-``, ``us-gov-``)."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def bus_arn(region: str, account: str, name: str, ident: str) -> str:
    """The ARN of bus ``name``."""
    return f"arn:{partition_of(region)}:events:{region}:{account}:event-busv2/{name}/{ident}"


def subscriber_arn(region: str, account: str, name: str, ident: str) -> str:
    """The ARN of subscriber ``name``."""
    return f"arn:{partition_of(region)}:events:{region}:{account}:subscriber/{name}/{ident}"


def parse_queue_arn(arn: str) -> QueueArn | None:
    """The queue an ARN names, or ``None`` when it is not an SQS queue's ARN."""
    match = _QUEUE_ARN.fullmatch(arn)
    if match is None:
        return None
    return QueueArn(arn=arn, region=match.group(2), account=match.group(3), name=match.group(4))
