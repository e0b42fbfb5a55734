"""EventsV2 buses and subscribers: the model's constraints, defaults, names and ARNs."""

from __future__ import annotations

import re
from typing import Any

import pytest

from healthcoach_realtime.local.eventsv2.exceptions import (
    InvalidInputError,
    NotEmulatedOperationError,
    ResourceAlreadyExistsError,
    ResourceInUseError,
    ResourceNotFoundError,
)
from healthcoach_realtime.local.eventsv2.service import Caller, EventsV2Service

CALLER = Caller(account="123456789012", region="us-east-1")
QUEUE = "arn:aws:sqs:us-east-1:123456789012:dispatch.fifo"
ROLE = "arn:aws:iam::123456789012:role/delivery"


@pytest.fixture
def service() -> Any:
    """A fresh service (nothing is published here, so no delivery thread starts)."""
    created = EventsV2Service()
    yield created
    created.close()


def _bus(service: EventsV2Service, name: str = "bus", **request: Any) -> dict[str, Any]:
    return service.call("CreateEventBus", {"Name": name, **request}, CALLER)


def _subscriber(service: EventsV2Service, bus: str, name: str = "sub", **request: Any) -> dict[str, Any]:
    invoke = {"RoleArn": ROLE, "TargetArn": QUEUE}
    return service.call(
        "CreateSubscriber",
        {"Name": name, "EventBusArn": bus, "InvokeConfiguration": invoke, **request},
        CALLER,
    )


def test_a_bus_is_active_at_once_with_a_one_day_retention_and_a_model_shaped_arn(service: Any) -> None:
    """Defaults: ACTIVE, 1 day; ARN ``event-busv2/{name}/{25 x [a-z0-9]}``."""
    bus = _bus(service)

    assert bus["State"] == "ACTIVE"
    assert bus["StorageConfiguration"]["RetentionPeriodInDays"] == 1
    assert re.fullmatch(
        r"arn:aws:events:us-east-1:123456789012:event-busv2/bus/[a-z0-9]{25}", bus["EventBusArn"]
    )


@pytest.mark.parametrize(
    ("request_", "complaint"),
    [
        ({"Name": "-starts-with-dash"}, "regular expression"),
        ({"Name": "b" * 257}, "less than or equal to 256"),
        ({"Name": "ok", "StorageConfiguration": {"RetentionPeriodInDays": 366}}, "less than or equal to 365"),
        ({"Name": "ok", "StorageConfiguration": {"RetentionPeriodInDays": 0}}, "greater than or equal to 1"),
        ({}, "Name' failed to satisfy constraint: Member must not be null"),
    ],
)
def test_bus_requests_breaking_the_model_are_refused(
    service: Any, request_: dict[str, Any], complaint: str
) -> None:
    """Names and retention are checked as the model states them."""
    with pytest.raises(InvalidInputError, match=re.escape(complaint)):
        service.call("CreateEventBus", request_, CALLER)


def test_a_taken_bus_name_is_refused_unless_the_call_is_a_retry(service: Any) -> None:
    """Same name: ResourceAlreadyExists; same name and ClientToken: the first answer again."""
    first = _bus(service, ClientToken="token-1")

    with pytest.raises(ResourceAlreadyExistsError):
        _bus(service, ClientToken="token-2")
    assert _bus(service, ClientToken="token-1")["EventBusArn"] == first["EventBusArn"]


def test_list_event_buses_filters_by_prefix_and_pages(service: Any) -> None:
    """NamePrefix narrows the list; MaxResults and NextToken page through it in name order."""
    for name in ("hc-b", "hc-a", "other", "hc-c"):
        _bus(service, name)

    first = service.call("ListEventBuses", {"NamePrefix": "hc-", "MaxResults": 2}, CALLER)
    rest = service.call("ListEventBuses", {"NamePrefix": "hc-", "NextToken": first["NextToken"]}, CALLER)

    assert [b["Name"] for b in first["EventBuses"]] == ["hc-a", "hc-b"]
    assert [b["Name"] for b in rest["EventBuses"]] == ["hc-c"]
    assert "NextToken" not in rest
    assert service.call("ListEventBuses", {}, Caller("123456789012", "eu-west-1"))["EventBuses"] == []


def test_a_subscriber_gets_the_documented_defaults(service: Any) -> None:
    """Retry 5 / 300 s / ALL, RAW, LATEST, RUNNING; ARN ``subscriber/{name}/{25 chars}``."""
    bus = _bus(service)["EventBusArn"]
    created = _subscriber(service, bus)

    described = service.call("DescribeSubscriber", {"SubscriberArn": created["SubscriberArn"]}, CALLER)

    assert described["RetryPolicy"] == {
        "MaxRetryAttempts": 5,
        "MaxEventAgeInSeconds": 300,
        "RetryStrategy": "ALL",
    }
    assert described["Transformer"] == {"Type": "RAW"}
    assert (described["StartingPosition"], described["State"]) == ("LATEST", "RUNNING")
    assert re.fullmatch(
        r"arn:aws:events:us-east-1:123456789012:subscriber/sub/[a-z0-9]{25}", created["SubscriberArn"]
    )


@pytest.mark.parametrize(
    ("extra", "complaint"),
    [
        ({"RetryPolicy": {"MaxRetryAttempts": 186}}, "less than or equal to 185"),
        ({"RetryPolicy": {"MaxEventAgeInSeconds": 59}}, "greater than or equal to 60"),
        ({"RetryPolicy": {"MaxEventAgeInSeconds": 86401}}, "less than or equal to 86400"),
        ({"Type": "LIFO"}, "enum value set"),
        ({"OnFailureConfiguration": {"Arn": "arn:aws:sns:us-east-1:123456789012:t"}}, "regular expression"),
        ({"StartingPosition": "POINT_IN_TIME"}, "not emulated"),
        ({"Transformer": {"Type": "JSONATA"}}, "JsonataConfiguration"),
    ],
)
def test_subscriber_requests_breaking_the_rules_are_refused(
    service: Any, extra: dict[str, Any], complaint: str
) -> None:
    """Retry bounds, enums, the DLQ pattern, replay and a JSONATA transformer without expression."""
    bus = _bus(service)["EventBusArn"]

    with pytest.raises(InvalidInputError, match=complaint):
        _subscriber(service, bus, **extra)


def test_subscriber_names_are_unique_per_bus_and_a_bus_with_subscribers_stays(service: Any) -> None:
    """A second ``sub`` on the bus is refused; the bus cannot be deleted until its subscriber is."""
    bus = _bus(service)["EventBusArn"]
    sub = _subscriber(service, bus)["SubscriberArn"]

    with pytest.raises(ResourceAlreadyExistsError):
        _subscriber(service, bus)
    with pytest.raises(ResourceInUseError):
        service.call("DeleteEventBus", {"EventBusArn": bus}, CALLER)
    service.call("DeleteSubscriber", {"SubscriberArn": sub}, CALLER)
    service.call("DeleteEventBus", {"EventBusArn": bus}, CALLER)
    with pytest.raises(ResourceNotFoundError):
        service.call("DescribeEventBus", {"EventBusArn": bus}, CALLER)


def test_update_subscriber_changes_state_and_keeps_the_target(service: Any) -> None:
    """UpdateSubscriber stops a subscriber and changes its retry policy; TargetArn stays."""
    bus = _bus(service)["EventBusArn"]
    sub = _subscriber(service, bus)["SubscriberArn"]

    answer = service.call(
        "UpdateSubscriber",
        {
            "SubscriberArn": sub,
            "State": "STOPPED",
            "RetryPolicy": {"MaxRetryAttempts": 0},
            "InvokeConfiguration": {"RoleArn": ROLE},
        },
        CALLER,
    )
    described = service.call("DescribeSubscriber", {"SubscriberArn": sub}, CALLER)

    assert answer["State"] == "STOPPED"
    assert described["RetryPolicy"]["MaxRetryAttempts"] == 0
    assert described["InvokeConfiguration"]["TargetArn"] == QUEUE


def test_list_subscribers_by_bus_and_prefix(service: Any) -> None:
    """ListSubscribers narrows to one bus and a name prefix."""
    bus, other = _bus(service, "one")["EventBusArn"], _bus(service, "two")["EventBusArn"]
    _subscriber(service, bus, "dispatch-a")
    _subscriber(service, bus, "audit")
    _subscriber(service, other, "dispatch-b")

    found = service.call("ListSubscribers", {"EventBusArn": bus, "NamePrefix": "dispatch"}, CALLER)[
        "Subscribers"
    ]

    assert [(s["Name"], s["TargetArn"]) for s in found] == [("dispatch-a", QUEUE)]


def test_an_operation_of_the_model_that_is_not_emulated_says_so(service: Any) -> None:
    """TagResource exists in the model but is not emulated: NotImplemented, not a silent success."""
    with pytest.raises(NotEmulatedOperationError, match="TagResource"):
        service.call("TagResource", {}, CALLER)
