"""Powertools Logger and Metrics, configured once for every handler.

Only Logger and Metrics: the Tracer pulls in the X-Ray SDK (~385 ms of cold start). The
``service`` (a log field and the metrics' one dimension) names the stage when deployed
(``service_name``, set by ``infra/`` in ``POWERTOOLS_SERVICE_NAME``), so two stages in one
account keep their metrics, and the alarms on them, apart.
"""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics

__all__ = ["NAMESPACE", "SERVICE", "MetricName", "logger", "metrics", "service_name"]

SERVICE = "healthcoach-realtime"
NAMESPACE = "HealthCoachRealtime"


def service_name(stage: str) -> str:
    """The service of one deployed stage."""
    return f"{SERVICE}-{stage}"


_service = os.environ.get("POWERTOOLS_SERVICE_NAME") or SERVICE
logger = Logger(service=_service)
metrics = Metrics(namespace=NAMESPACE, service=_service)


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
    # stream bridge: item attributes the event's schema does not declare, left out (a count only)
    DROPPED_ATTRIBUTES = "DroppedAttributes"
    # Live sessions (sessions/): expiry, refresh, bounds.
    SESSIONS_EXPIRED = "SessionsExpired"  # closed by the sweeper after their token's exp
    SESSIONS_REFRESHED = "SessionsRefreshed"  # {"action": "auth"} accepted
    REFRESH_FAILURES = "RefreshFailures"  # {"action": "auth"} refused
    CONNECTIONS_REFUSED = "ConnectionsRefused"  # $connect: the user already has the most allowed
    MESSAGES_RATE_LIMITED = "MessagesRateLimited"  # $default: over a connection's rate
    CONNECTIONS_CLOSED_FOR_ABUSE = "ConnectionsClosedForAbuse"  # $default: far over it
    DELIVERIES_EXPIRED = "DeliveriesExpired"  # dispatcher: not posted, the session had ended
