"""A subscriber's settings, checked and compiled, and the SQS messages it sends (pure).

Emulated: SQS targets (standard or FIFO) with ``SqsParameters.MessageGroupId``,
``MessageDeduplicationId`` and ``DelaySeconds`` (each a literal or one ``{% %}`` expression),
the ``RAW``/``WITH_METADATA``/``JSONATA`` transformers, filters, ``RetryPolicy`` and an SQS
``OnFailureConfiguration``. Accepted and ignored: ``RoleArn`` (never assumed),
``BatchConfiguration`` (SQS gets one event per message anyway), ``LogConfiguration``.
Refused as not emulated (``InvalidInputException``): any other target service, other targets'
parameters, SQS message attributes, ``StartingPosition`` ``POINT_IN_TIME`` (replay).

Defaults filled in when absent: ``Type`` ``UNORDERED`` (AWS's default is unconfirmed; a
subscriber that needs order must ask for ``FIFO``), ``StartingPosition`` ``LATEST``, ``State``
``RUNNING``, ``Transformer`` ``RAW``, ``RetryPolicy`` 5 retries / 300 s / ``ALL``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from healthcoach_realtime.local.eventsv2.arns import QueueArn, parse_queue_arn
from healthcoach_realtime.local.eventsv2.events import PublishedEvent
from healthcoach_realtime.local.eventsv2.exceptions import DeliveryError, InvalidInputError
from healthcoach_realtime.local.eventsv2.expressions import (
    Expression,
    TemplateValue,
    compile_value,
    evaluate,
)
from healthcoach_realtime.local.eventsv2.filters import SubscriberFilter, compile_filters

__all__ = [
    "DEFAULT_RETRY_POLICY",
    "SqsMessage",
    "SubscriberConfig",
    "compile_config",
    "dead_letter_message",
    "render",
    "with_defaults",
]

DEFAULT_RETRY_POLICY = {"MaxRetryAttempts": 5, "MaxEventAgeInSeconds": 300, "RetryStrategy": "ALL"}
_OTHER_TARGET_PARAMETERS = (
    "LambdaParameters",
    "SnsParameters",
    "KinesisParameters",
    "StepFunctionsParameters",
    "HttpParameters",
    "UniversalTargetParameters",
    "EventBusV2Parameters",
    "MskParameters",
)


@dataclass(frozen=True, slots=True)
class SqsMessage:
    """One SendMessage call: where, what, and the FIFO/delay parameters (``None``: omitted)."""

    queue: QueueArn
    body: str
    group_id: str | None = None
    deduplication_id: str | None = None
    delay_seconds: int | None = None


@dataclass(frozen=True, slots=True)
class SubscriberConfig:
    """What delivery needs of a subscriber, compiled once per create or update."""

    fifo: bool
    target: QueueArn
    filters: SubscriberFilter
    transformer: str
    jsonata: Expression | None
    group_id: TemplateValue | None
    deduplication_id: TemplateValue | None
    delay_seconds: TemplateValue | None
    max_retry_attempts: int
    max_event_age_seconds: int
    dead_letter: QueueArn | None


def with_defaults(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The settings as stored and described: the documented defaults filled in."""
    filled = dict(settings)
    filled.setdefault("Type", "UNORDERED")
    filled.setdefault("StartingPosition", "LATEST")
    filled.setdefault("State", "RUNNING")
    filled.setdefault("Transformer", {"Type": "RAW"})
    filled["Transformer"] = {"Type": "RAW", **filled["Transformer"]}
    filled["RetryPolicy"] = {**DEFAULT_RETRY_POLICY, **(filled.get("RetryPolicy") or {})}
    return filled


def compile_config(settings: Mapping[str, Any]) -> SubscriberConfig:
    """Check what the model cannot and compile: ``InvalidInputError`` naming what is wrong."""
    if settings.get("StartingPosition") == "POINT_IN_TIME" or settings.get("PointInTimeConfiguration"):
        raise InvalidInputError("StartingPosition POINT_IN_TIME (replay) is not emulated")
    invoke = settings["InvokeConfiguration"]
    target = parse_queue_arn(invoke["TargetArn"])
    if target is None:
        raise InvalidInputError(
            f"InvokeConfiguration.TargetArn {invoke['TargetArn']!r}: only SQS queue targets are emulated"
        )
    for name in _OTHER_TARGET_PARAMETERS:
        if invoke.get(name):
            raise InvalidInputError(f"InvokeConfiguration.{name} does not apply to an SQS target")
    sqs = invoke.get("SqsParameters") or {}
    for name in ("MessageAttributes", "MessageSystemAttributes"):
        if sqs.get(name):
            raise InvalidInputError(f"InvokeConfiguration.SqsParameters.{name} is not emulated")
    transformer = settings.get("Transformer") or {"Type": "RAW"}
    kind = transformer.get("Type", "RAW")
    jsonata_settings = transformer.get("JsonataConfiguration")
    if (kind == "JSONATA") != (jsonata_settings is not None):
        raise InvalidInputError(
            "Transformer.JsonataConfiguration is required with Type JSONATA, and only then"
        )
    dead_letter_arn = (settings.get("OnFailureConfiguration") or {}).get("Arn")
    retry = {**DEFAULT_RETRY_POLICY, **(settings.get("RetryPolicy") or {})}
    return SubscriberConfig(
        fifo=settings.get("Type", "UNORDERED") == "FIFO",
        target=target,
        filters=compile_filters(settings.get("FilterConfiguration")),
        transformer=kind,
        jsonata=_whole_expression(jsonata_settings["Expression"]) if jsonata_settings else None,
        group_id=_template(sqs, "MessageGroupId"),
        deduplication_id=_template(sqs, "MessageDeduplicationId"),
        delay_seconds=_template(sqs, "DelaySeconds"),
        max_retry_attempts=int(retry["MaxRetryAttempts"]),
        max_event_age_seconds=int(retry["MaxEventAgeInSeconds"]),
        dead_letter=parse_queue_arn(dead_letter_arn) if dead_letter_arn else None,
    )


def render(config: SubscriberConfig, event: PublishedEvent) -> SqsMessage:
    """The SendMessage call that delivers ``event``; ``DeliveryError`` when it cannot be built."""
    view = event.view
    if config.transformer == "WITH_METADATA":
        body = json.dumps(view)
    elif config.transformer == "JSONATA" and config.jsonata is not None:
        result = _evaluated(config.jsonata, view, "Transformer")
        if result is None:
            raise DeliveryError("TransformationFailed", "The JSONata transformer returned no value")
        body = result if isinstance(result, str) else json.dumps(result)
    else:
        body = json.dumps(view["Data"])
    delay = _parameter(config.delay_seconds, view, "DelaySeconds")
    try:
        delay_seconds = int(delay) if delay is not None else None
    except ValueError:
        raise DeliveryError("InvalidParameterValue", f"DelaySeconds {delay!r} is not an integer") from None
    return SqsMessage(
        queue=config.target,
        body=body,
        group_id=_parameter(config.group_id, view, "MessageGroupId"),
        deduplication_id=_parameter(config.deduplication_id, view, "MessageDeduplicationId"),
        delay_seconds=delay_seconds,
    )


def dead_letter_message(
    config: SubscriberConfig,
    event: PublishedEvent,
    *,
    subscriber_arn: str,
    error: DeliveryError,
    attempts: int,
) -> SqsMessage | None:
    """The record sent to the subscriber's on-failure queue (ids, never the payload), or ``None``
    when it has none. A FIFO queue gets the event's group (``ungrouped`` without one) and the
    event id as its deduplication id."""
    if config.dead_letter is None:
        return None
    record = {
        "subscriberArn": subscriber_arn,
        "eventBusArn": event.bus_arn,
        "eventId": event.event_id,
        "eventGroupId": event.group_id,
        "sequenceNumber": str(event.sequence_number),
        "errorCode": error.code,
        "errorMessage": error.message,
        "attempts": attempts,
    }
    fifo = config.dead_letter.fifo
    return SqsMessage(
        queue=config.dead_letter,
        body=json.dumps(record),
        group_id=(event.group_id or "ungrouped") if fifo else None,
        deduplication_id=event.event_id if fifo else None,
    )


def _template(sqs: Mapping[str, Any], name: str) -> TemplateValue | None:
    text = sqs.get(name)
    return compile_value(text, f"InvokeConfiguration.SqsParameters.{name}") if text else None


def _whole_expression(text: str) -> Expression:
    value = compile_value(text, "Transformer.JsonataConfiguration.Expression")
    if not isinstance(value, Expression):
        raise InvalidInputError(
            "Transformer.JsonataConfiguration.Expression must be one {% ... %} expression"
        )
    return value


def _parameter(value: TemplateValue | None, view: Mapping[str, Any], name: str) -> str | None:
    """A parameter's text for this event; ``None`` (omitted) when it has no value."""
    if value is None:
        return None
    result = _evaluated(value, view, name)
    if result is None or result == "":
        return None
    if isinstance(result, str):
        return result
    if isinstance(result, bool | int | float):
        return json.dumps(result)
    raise DeliveryError(
        "InvalidParameterValue", f"{name} must evaluate to a string, not {type(result).__name__}"
    )


def _evaluated(value: TemplateValue, view: Mapping[str, Any], name: str) -> Any:
    try:
        return evaluate(value, view)
    except Exception as exc:
        raise DeliveryError("JsonataEvaluationFailed", f"{name}: {exc}") from None
