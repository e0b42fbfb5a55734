"""The emulated EventsV2 service: buses, subscribers and PutEvents, in memory and thread-safe.

``call(operation, request, caller)`` answers one API call with the response structure (the
protocol layer turns it into CBOR); errors are ``ServiceError``s. Every request is first checked
against botocore's model (``validation``), then against the service's own rules.

Emulated operations: CreateEventBus, DescribeEventBus, ListEventBuses, DeleteEventBus,
CreateSubscriber, DescribeSubscriber, ListSubscribers, UpdateSubscriber, DeleteSubscriber and
PutEvents. The rest of the API (event sources, resource policies, tags, PutRawEvents, ...)
answers ``NotImplemented`` (501).

Rules beyond the model:

- Names: a bus name is unique per account and region, a subscriber name per bus (AWS's scope
  for subscriber names is unconfirmed); a taken name is ``ResourceAlreadyExistsException``,
  unless the call repeats the creating call's ``ClientToken`` (an idempotent retry: the same
  answer). A bus is ``ACTIVE`` at once. A bus with subscribers cannot be deleted
  (``ResourceInUseException``; unconfirmed). Quotas (5 buses, ...) are not enforced.
- PutEvents: a request over 1,048,576 bytes (``events.entry_size``) is refused whole; each
  other entry is published or gets its own ``ErrorCode`` (``InvalidInput``, ``MalformedDetail``).
  Published entries get an ``EventId`` (uuid4) and a ``SequenceNumber``: a decimal string,
  increasing with ingestion order on the bus (compare as integers). Deduplication: see
  ``dedup``; with ``DeduplicationConfiguration{CONTENT_BASED}`` an entry without its own
  ``DeduplicationId`` is keyed by ``events.content_hash``. A bus keeps its events for its
  retention (bookkeeping for tests: ``published``; no replay).
- Subscribers (``subscribers``): each published event goes to every RUNNING subscriber of the
  bus whose filters all match (``delivery``). While a subscriber is STOPPED its matching events
  are held; ``UpdateSubscriber(State=RUNNING)`` delivers them in order, unless
  ``ResumePosition`` is ``LATEST`` (``LAST_PROCESSED`` is assumed to be the default).
  Deliveries already under way when it stops finish.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from healthcoach_realtime.local.eventsv2.arns import bus_arn, resource_id, subscriber_arn
from healthcoach_realtime.local.eventsv2.dedup import DedupKey, DedupWindow
from healthcoach_realtime.local.eventsv2.delivery import DeliveryCounters, DeliveryEngine, SubscriberHandle
from healthcoach_realtime.local.eventsv2.events import (
    MAX_REQUEST_BYTES,
    EntryProblem,
    PublishedEvent,
    build_event,
    content_hash,
    entry_problem,
    parse_detail,
    request_size,
)
from healthcoach_realtime.local.eventsv2.exceptions import (
    InvalidInputError,
    NotEmulatedOperationError,
    ResourceAlreadyExistsError,
    ResourceInUseError,
    ResourceNotFoundError,
)
from healthcoach_realtime.local.eventsv2.faults import FaultPlan
from healthcoach_realtime.local.eventsv2.options import EventsV2Options
from healthcoach_realtime.local.eventsv2.sqs_sender import MotoSqsSender, SqsSender
from healthcoach_realtime.local.eventsv2.subscribers import compile_config, with_defaults
from healthcoach_realtime.local.eventsv2.validation import operation_model, raise_if_invalid

__all__ = ["Caller", "EventsV2Service"]

_DAY_SECONDS = 86_400
# What UpdateSubscriber may change; the other settings are fixed when the subscriber is created.
_UPDATABLE = (
    "Description",
    "FilterConfiguration",
    "BatchConfiguration",
    "Transformer",
    "RetryPolicy",
    "OnFailureConfiguration",
    "LogConfiguration",
    "State",
)
_SUBSCRIBER_SETTINGS = (
    "InvokeConfiguration",
    "Type",
    "StartingPosition",
    "PointInTimeConfiguration",
    *_UPDATABLE,
)


@dataclass(frozen=True, slots=True)
class Caller:
    """Who calls, from the request's credential scope."""

    account: str
    region: str


@dataclass(eq=False)
class _Bus:
    arn: str
    name: str
    account: str
    region: str
    settings: dict[str, Any]
    client_token: str | None
    created: float
    retained: deque[PublishedEvent]
    modified: float = 0.0
    sequence: int = 0
    subscribers: dict[str, _Subscriber] = field(default_factory=dict)

    @property
    def retention_days(self) -> int:
        return int((self.settings.get("StorageConfiguration") or {}).get("RetentionPeriodInDays", 1))


@dataclass(eq=False)
class _Subscriber:
    arn: str
    name: str
    bus: _Bus
    settings: dict[str, Any]
    handle: SubscriberHandle
    client_token: str | None
    created: float
    modified: float
    held: deque[PublishedEvent]

    @property
    def running(self) -> bool:
        return bool(self.settings["State"] == "RUNNING")


class EventsV2Service:
    """In-memory EventsV2 for one emulator; ``faults`` arms delivery failures (tests)."""

    def __init__(
        self,
        options: EventsV2Options | None = None,
        *,
        sender: SqsSender | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.options = options or EventsV2Options()
        self.faults = FaultPlan()
        self.sender: SqsSender = sender or MotoSqsSender()
        self._clock = clock
        self._engine = DeliveryEngine(self.sender, self.faults, self.options, clock)
        self._dedup = DedupWindow(self.options.dedup_window_seconds, clock)
        self._lock = threading.RLock()
        self._buses: dict[str, _Bus] = {}
        self._subscribers: dict[str, _Subscriber] = {}
        self._operations: dict[str, Callable[[Mapping[str, Any], Caller], dict[str, Any]]] = {
            "CreateEventBus": self._create_event_bus,
            "DescribeEventBus": self._describe_event_bus,
            "ListEventBuses": self._list_event_buses,
            "DeleteEventBus": self._delete_event_bus,
            "CreateSubscriber": self._create_subscriber,
            "DescribeSubscriber": self._describe_subscriber,
            "ListSubscribers": self._list_subscribers,
            "UpdateSubscriber": self._update_subscriber,
            "DeleteSubscriber": self._delete_subscriber,
            "PutEvents": self._put_events,
        }

    # -- the API ------------------------------------------------------------------------------

    def call(self, operation: str, request: Mapping[str, Any], caller: Caller) -> dict[str, Any]:
        """Answer one API call (``request`` as decoded from CBOR)."""
        operation_model(operation)  # UnknownOperationError for a name the model lacks
        handler = self._operations.get(operation)
        if handler is None:
            raise NotEmulatedOperationError(f"AWSEventsV2.{operation} is not emulated")
        raise_if_invalid(operation, request, opaque=("PutEventsRequestEntry",))
        return handler(request, caller)

    # -- for tests and the local stack ---------------------------------------------------------

    def counters(self, subscriber_arn: str) -> DeliveryCounters:
        """A snapshot of a subscriber's delivery counters."""
        with self._lock:
            subscriber = self._subscriber(subscriber_arn)
        return self._engine.counters(subscriber.handle)

    def published(self, bus_arn: str) -> list[PublishedEvent]:
        """The events a bus keeps (its retention), oldest first."""
        with self._lock:
            bus = self._bus(bus_arn)
            self._expire(bus)
            return list(bus.retained)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no delivery is in flight; ``False`` if ``timeout`` passes first."""
        return self._engine.wait_idle(timeout)

    def close(self) -> None:
        """Stop the delivery threads (pending deliveries are dropped); idempotent."""
        self._engine.close()

    # -- buses ---------------------------------------------------------------------------------

    def _create_event_bus(self, request: Mapping[str, Any], caller: Caller) -> dict[str, Any]:
        name, token = request["Name"], request.get("ClientToken")
        with self._lock:
            existing = next(
                (
                    b
                    for b in self._buses.values()
                    if (b.account, b.region, b.name) == (caller.account, caller.region, name)
                ),
                None,
            )
            if existing is not None:
                if token is None or existing.client_token != token:
                    raise ResourceAlreadyExistsError(f"Event bus {name} already exists")
                bus = existing
            else:
                now = self._clock()
                settings = {
                    k: request[k] for k in ("Description", "EncryptionConfiguration", "Tags") if k in request
                }
                retention = (request.get("StorageConfiguration") or {}).get("RetentionPeriodInDays", 1)
                settings["StorageConfiguration"] = {"RetentionPeriodInDays": retention}
                bus = _Bus(
                    arn=bus_arn(caller.region, caller.account, name, resource_id()),
                    name=name,
                    account=caller.account,
                    region=caller.region,
                    settings=settings,
                    client_token=token,
                    created=now,
                    modified=now,
                    retained=deque(maxlen=self.options.retention_max_events),
                )
                self._buses[bus.arn] = bus
            answer = self._bus_description(bus)
        answer.pop("LastModifiedTime")
        return answer

    def _describe_event_bus(self, request: Mapping[str, Any], caller: Caller) -> dict[str, Any]:
        with self._lock:
            return self._bus_description(self._bus(request["EventBusArn"]))

    def _list_event_buses(self, request: Mapping[str, Any], caller: Caller) -> dict[str, Any]:
        account = request.get("EventBusAccountId", caller.account)
        prefix = request.get("NamePrefix", "")
        with self._lock:
            found = sorted(
                (
                    b
                    for b in self._buses.values()
                    if b.account == account and b.region == caller.region and b.name.startswith(prefix)
                ),
                key=lambda b: b.name,
            )
            page, token = _page(found, request)
            summaries = [
                _without_none(
                    {
                        "Name": b.name,
                        "EventBusArn": b.arn,
                        "Description": b.settings.get("Description"),
                        "CreationTime": _datetime(b.created),
                        "LastModifiedTime": _datetime(b.modified),
                        "State": "ACTIVE",
                        "EventBusAccountId": b.account,
                    }
                )
                for b in page
            ]
        return _without_none({"EventBuses": summaries, "NextToken": token})

    def _delete_event_bus(self, request: Mapping[str, Any], caller: Caller) -> dict[str, Any]:
        with self._lock:
            bus = self._bus(request["EventBusArn"])
            if bus.subscribers:
                raise ResourceInUseError(
                    f"Event bus {bus.name} still has {len(bus.subscribers)} subscriber(s)"
                )
            del self._buses[bus.arn]
        return {}

    # -- subscribers ---------------------------------------------------------------------------

    def _create_subscriber(self, request: Mapping[str, Any], caller: Caller) -> dict[str, Any]:
        name, token = request["Name"], request.get("ClientToken")
        settings = with_defaults({k: request[k] for k in _SUBSCRIBER_SETTINGS if k in request})
        config = compile_config(settings)
        with self._lock:
            bus = self._bus(request["EventBusArn"])
            existing = next((s for s in bus.subscribers.values() if s.name == name), None)
            if existing is not None:
                if token is None or existing.client_token != token:
                    raise ResourceAlreadyExistsError(
                        f"Subscriber {name} already exists on event bus {bus.name}"
                    )
                subscriber = existing
            else:
                now = self._clock()
                arn = subscriber_arn(bus.region, bus.account, name, resource_id())
                subscriber = _Subscriber(
                    arn=arn,
                    name=name,
                    bus=bus,
                    settings=settings,
                    handle=SubscriberHandle(arn, config),
                    client_token=token,
                    created=now,
                    modified=now,
                    held=deque(maxlen=self.options.retention_max_events),
                )
                bus.subscribers[arn] = subscriber
                self._subscribers[arn] = subscriber
            return _without_none(
                {
                    "SubscriberArn": subscriber.arn,
                    "Name": subscriber.name,
                    "EventBusArn": bus.arn,
                    "Type": subscriber.settings["Type"],
                    "StartingPosition": subscriber.settings["StartingPosition"],
                    "State": subscriber.settings["State"],
                    "CreationTime": _datetime(subscriber.created),
                }
            )

    def _describe_subscriber(self, request: Mapping[str, Any], caller: Caller) -> dict[str, Any]:
        with self._lock:
            subscriber = self._subscriber(request["SubscriberArn"])
            return {
                **subscriber.settings,
                "SubscriberArn": subscriber.arn,
                "Name": subscriber.name,
                "EventBusArn": subscriber.bus.arn,
                "Revoked": False,
                "CreationTime": _datetime(subscriber.created),
                "LastModifiedTime": _datetime(subscriber.modified),
            }

    def _list_subscribers(self, request: Mapping[str, Any], caller: Caller) -> dict[str, Any]:
        prefix = request.get("NamePrefix", "")
        with self._lock:
            if "EventBusArn" in request:
                candidates: Iterable[_Subscriber] = self._bus(request["EventBusArn"]).subscribers.values()
            else:
                candidates = (
                    s
                    for s in self._subscribers.values()
                    if (s.bus.account, s.bus.region) == (caller.account, caller.region)
                )
            found = sorted(
                (s for s in candidates if s.name.startswith(prefix)), key=lambda s: (s.name, s.arn)
            )
            page, token = _page(found, request)
            summaries = [
                {
                    "SubscriberArn": s.arn,
                    "Name": s.name,
                    "EventBusArn": s.bus.arn,
                    "TargetArn": s.settings["InvokeConfiguration"]["TargetArn"],
                    "Type": s.settings["Type"],
                    "Revoked": False,
                    "State": s.settings["State"],
                    "CreationTime": _datetime(s.created),
                    "LastModifiedTime": _datetime(s.modified),
                    "SubscriberAccountId": s.bus.account,
                }
                for s in page
            ]
        return _without_none({"Subscribers": summaries, "NextToken": token})

    def _update_subscriber(self, request: Mapping[str, Any], caller: Caller) -> dict[str, Any]:
        with self._lock:
            subscriber = self._subscriber(request["SubscriberArn"])
            settings = dict(subscriber.settings)
        settings.update({k: request[k] for k in _UPDATABLE if k in request})
        if "InvokeConfiguration" in request:
            target = settings["InvokeConfiguration"]["TargetArn"]
            settings["InvokeConfiguration"] = {**request["InvokeConfiguration"], "TargetArn": target}
        settings = with_defaults(settings)
        config = compile_config(settings)
        with self._lock:
            if self._subscribers.get(subscriber.arn) is not subscriber:
                raise ResourceNotFoundError(f"Subscriber {request['SubscriberArn']} does not exist")
            resuming = not subscriber.running and settings["State"] == "RUNNING"
            subscriber.settings = settings
            subscriber.handle.config = config
            subscriber.modified = self._clock()
            if resuming:
                held, subscriber.held = list(subscriber.held), deque(maxlen=subscriber.held.maxlen)
                if request.get("ResumePosition", "LAST_PROCESSED") == "LAST_PROCESSED":
                    for event in held:
                        self._engine.submit(subscriber.handle, event)
            return {
                "SubscriberArn": subscriber.arn,
                "Name": subscriber.name,
                "EventBusArn": subscriber.bus.arn,
                "Type": settings["Type"],
                "StartingPosition": settings["StartingPosition"],
                "State": settings["State"],
                "LastModifiedTime": _datetime(subscriber.modified),
            }

    def _delete_subscriber(self, request: Mapping[str, Any], caller: Caller) -> dict[str, Any]:
        with self._lock:
            subscriber = self._subscriber(request["SubscriberArn"])
            subscriber.handle.deleted = True
            del self._subscribers[subscriber.arn]
            del subscriber.bus.subscribers[subscriber.arn]
        return {}

    # -- PutEvents -----------------------------------------------------------------------------

    def _put_events(self, request: Mapping[str, Any], caller: Caller) -> dict[str, Any]:
        entries = request["Entries"]
        size = request_size(entries)
        if size > MAX_REQUEST_BYTES:
            raise InvalidInputError(
                f"The entries of this PutEvents request total {size} bytes, over the 1 MB limit "
                f"({MAX_REQUEST_BYTES} bytes, counting Source, DetailType, Detail and Resources, "
                "+14 bytes per Time): no entry was published"
            )
        content_based = (request.get("DeduplicationConfiguration") or {}).get(
            "DeduplicationType"
        ) == "CONTENT_BASED"
        checked = [_checked(entry, content_based) for entry in entries]
        results: list[dict[str, Any]] = []
        with self._lock:
            bus = self._bus(request["EventBusArn"])
            for entry, outcome in zip(entries, checked, strict=True):
                if isinstance(outcome, EntryProblem):
                    results.append({"ErrorCode": outcome.code, "ErrorMessage": outcome.message})
                else:
                    results.append(self._publish(bus, entry, *outcome, caller=caller))
        failed = sum(1 for result in results if "ErrorCode" in result)
        return {"FailedEntryCount": failed, "Entries": results}

    def _publish(
        self,
        bus: _Bus,
        entry: Mapping[str, Any],
        detail: dict[str, Any],
        dedup_id: str | None,
        *,
        caller: Caller,
    ) -> dict[str, Any]:
        """Publish one checked entry (under the lock): dedup, sequence, retention, fan-out."""
        group = (entry.get("SystemMetadata") or {}).get("EventGroupId")
        key: DedupKey | None = None
        if dedup_id is not None:
            key = (caller.account, bus.region, group or "", dedup_id)
            original = self._dedup.original(key)
            if original is not None:
                return {
                    "EventId": original.event_id,
                    "SequenceNumber": str(original.sequence_number),
                    "SuccessCode": "DEDUPLICATED",
                }
        bus.sequence += 1
        event = build_event(
            entry,
            detail,
            event_id=str(uuid.uuid4()),
            sequence_number=bus.sequence,
            bus_arn=bus.arn,
            account=caller.account,
            region=bus.region,
            ingestion_time=self._clock(),
        )
        if key is not None:
            self._dedup.remember(key, event.event_id, event.sequence_number)
        self._expire(bus)
        bus.retained.append(event)
        for subscriber in bus.subscribers.values():
            if subscriber.handle.config.filters.matches(event.view):
                if subscriber.running:
                    self._engine.submit(subscriber.handle, event)
                else:
                    subscriber.held.append(event)
        return {
            "EventId": event.event_id,
            "SequenceNumber": str(event.sequence_number),
            "SuccessCode": "PUBLISHED",
        }

    # -- helpers -------------------------------------------------------------------------------

    def _bus(self, arn: str) -> _Bus:
        bus = self._buses.get(arn)
        if bus is None:
            raise ResourceNotFoundError(f"Event bus {arn} does not exist")
        return bus

    def _subscriber(self, arn: str) -> _Subscriber:
        subscriber = self._subscribers.get(arn)
        if subscriber is None:
            raise ResourceNotFoundError(f"Subscriber {arn} does not exist")
        return subscriber

    def _expire(self, bus: _Bus) -> None:
        horizon = self._clock() - bus.retention_days * _DAY_SECONDS
        while bus.retained and bus.retained[0].ingestion_time < horizon:
            bus.retained.popleft()

    def _bus_description(self, bus: _Bus) -> dict[str, Any]:
        window_start = max(bus.created, self._clock() - bus.retention_days * _DAY_SECONDS)
        return _without_none(
            {
                "EventBusArn": bus.arn,
                "Name": bus.name,
                "Description": bus.settings.get("Description"),
                "EncryptionConfiguration": bus.settings.get("EncryptionConfiguration"),
                "StorageConfiguration": {
                    "RetentionPeriodInDays": bus.retention_days,
                    "RetentionWindowStartTime": _datetime(window_start),
                },
                "CreationTime": _datetime(bus.created),
                "LastModifiedTime": _datetime(bus.modified),
                "State": "ACTIVE",
            }
        )


def _checked(entry: Any, content_based: bool) -> EntryProblem | tuple[dict[str, Any], str | None]:
    """An entry's problem, or its parsed detail and deduplication id (outside the lock)."""
    problem = entry_problem(entry)
    if problem is not None:
        return problem
    detail = parse_detail(entry.get("Detail"))
    assert detail is not None  # entry_problem refused any other
    dedup_id = (entry.get("SystemMetadata") or {}).get("DeduplicationId")
    if dedup_id is None and content_based:
        dedup_id = content_hash(entry)
    return detail, dedup_id


def _page(items: list[Any], request: Mapping[str, Any]) -> tuple[list[Any], str | None]:
    """One page of ``items`` from ``NextToken`` (an offset), at most ``MaxResults`` long."""
    token = request.get("NextToken")
    try:
        start = int(token) if token is not None else 0
    except ValueError:
        raise InvalidInputError(f"NextToken {token!r} is not one this service handed out") from None
    if start < 0 or start > len(items):
        raise InvalidInputError(f"NextToken {token!r} is not one this service handed out")
    limit = request.get("MaxResults", 100)
    end = start + limit
    return items[start:end], (str(end) if end < len(items) else None)


def _datetime(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _without_none(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}
