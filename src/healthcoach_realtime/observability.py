"""Powertools Logger and Metrics, configured once for every handler.

Only Logger and Metrics: the Tracer pulls in the X-Ray SDK (~385 ms of cold start).
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics

__all__ = ["NAMESPACE", "SERVICE", "MetricName", "logger", "metrics"]

SERVICE = "healthcoach-realtime"
NAMESPACE = "HealthCoachRealtime"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)


class MetricName:
    """The metric names, one place, so dashboards and alarms in ``infra/`` match the code."""

    CONNECTIONS_OPENED = "ConnectionsOpened"
    CONNECTIONS_CLOSED = "ConnectionsClosed"
    AUTH_FAILURES = "AuthFailures"
    HANDLER_FAILURES = "HandlerFailures"  # a route handler answered 500 (our fault, not the client's)
    EVENTS_DISPATCHED = "EventsDispatched"
    MESSAGES_SENT = "MessagesSent"
    STALE_CONNECTIONS_REMOVED = "StaleConnectionsRemoved"
    DELIVERY_FAILURES = "DeliveryFailures"
    INVALID_EVENTS = "InvalidEvents"
    EVENTS_EMITTED = "EventsEmitted"
    DELIVERY_LATENCY = "DeliveryLatency"
