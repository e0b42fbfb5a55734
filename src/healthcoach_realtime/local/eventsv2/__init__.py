"""EventBridge's Custom Event Bus (EventsV2, boto3 ``eventbridgev2``), emulated for the local stack.

moto has no EventsV2, so the embedded AWS endpoint answers it itself: ``protocol`` (smithy RPC
v2 CBOR over WSGI, in front of moto's app), ``service`` (buses, subscribers, PutEvents),
``delivery`` (FIFO per event group / UNORDERED delivery to SQS, retries, on-failure queues),
with ``filters``, ``expressions``, ``subscribers``, ``events``, ``dedup`` and ``validation`` as
pure parts. ``options`` lists the knobs, ``faults`` the test hooks.

Example (what ``local.emulator.Emulator`` does)::

    service = EventsV2Service(EventsV2Options(reorder_unordered=True))   # delivers into moto's SQS
    app = EventsV2Middleware(service, moto_app)
    ...
    service.wait_idle(5.0)   # tests: until no delivery is in flight
    service.counters(subscriber_arn).delivered
    service.close()
"""

from __future__ import annotations

from healthcoach_realtime.local.eventsv2.delivery import DeliveryCounters
from healthcoach_realtime.local.eventsv2.events import PublishedEvent
from healthcoach_realtime.local.eventsv2.exceptions import DeliveryError, ServiceError
from healthcoach_realtime.local.eventsv2.faults import Fault, FaultPlan
from healthcoach_realtime.local.eventsv2.options import EventsV2Options
from healthcoach_realtime.local.eventsv2.protocol import EventsV2Middleware
from healthcoach_realtime.local.eventsv2.service import Caller, EventsV2Service
from healthcoach_realtime.local.eventsv2.sqs_sender import MotoSqsSender, SqsSender

__all__ = [
    "Caller",
    "DeliveryCounters",
    "DeliveryError",
    "EventsV2Middleware",
    "EventsV2Options",
    "EventsV2Service",
    "Fault",
    "FaultPlan",
    "MotoSqsSender",
    "PublishedEvent",
    "ServiceError",
    "SqsSender",
]
