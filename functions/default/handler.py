"""``$default``: ``ping``, ``resume``, ``presence`` and ``auth`` (token refresh), rate limited per
connection; anything else is answered with ``error``.

Loaded by file path (the Lambda bundle root, or the local stack via importlib), so it imports
only the package. Answers are posted to the caller through @connections (identically in AWS and
locally; no route response). Its settings are its entry in ``manifest.py`` (``TOKEN_ISSUER``
replaces the user pool's issuer locally), checked at cold start.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

from healthcoach_realtime.clients import dynamodb_client, management_api_client
from healthcoach_realtime.connections import ConnectionStore
from healthcoach_realtime.default_route import MessageOutcome, answer_message
from healthcoach_realtime.history.store import HistoryStore
from healthcoach_realtime.manifest import check_cold_start
from healthcoach_realtime.observability import MetricName, logger, metrics
from healthcoach_realtime.sessions.message_rate import MessageRatePolicy, Verdict
from healthcoach_realtime.settings import get_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from healthcoach_realtime.auth.verifier import TokenVerifier

check_cold_start("default")


@cache
def connections() -> ConnectionStore:
    """The connections table through the process's cached DynamoDB client."""
    return ConnectionStore(dynamodb_client(), get_settings().connections_table)


@cache
def history() -> HistoryStore:
    """The replay log (read only here)."""
    return HistoryStore(dynamodb_client(), get_settings().history_table)


@cache
def verifier() -> TokenVerifier:
    """Built on the first ``auth`` only: pings and resumes never import the JWT library."""
    from healthcoach_realtime.auth.verifier import TokenVerifier

    return TokenVerifier.from_settings(get_settings())


@cache
def rate_policy() -> MessageRatePolicy:
    settings = get_settings()
    return MessageRatePolicy(
        limit=settings.message_rate_limit, window_seconds=settings.message_rate_window_seconds
    )


# The body may carry a token, and a replay carries health data: never log the event.
@logger.inject_lambda_context(log_event=False, correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Answer one message; 200 whatever the answer (API Gateway ignores it without a route response).

    The context's time left bounds a resume's replay and a presence ask's posts to the others.
    """
    outcome = answer_message(
        event,
        connections=connections(),
        history=history(),
        management=management_api_client(),
        verifier=verifier,
        policy=rate_policy(),
        remaining=lambda: context.get_remaining_time_in_millis() / 1000,
    )
    _record(outcome)
    return {"statusCode": 200}


def _record(outcome: MessageOutcome) -> None:
    extra: dict[str, Any] = {"frames_sent": outcome.sent}
    if outcome.verdict in (Verdict.LIMITED, Verdict.CLOSE):
        metrics.add_metric(name=MetricName.MESSAGES_RATE_LIMITED, unit=MetricUnit.Count, value=1)
        extra["rate"] = outcome.verdict.value
    if outcome.verdict is Verdict.CLOSE:
        metrics.add_metric(name=MetricName.CONNECTIONS_CLOSED_FOR_ABUSE, unit=MetricUnit.Count, value=1)
    if outcome.refresh is not None:
        name = MetricName.SESSIONS_REFRESHED if outcome.refresh.refreshed else MetricName.REFRESH_FAILURES
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
        extra["refresh"] = outcome.refresh.refusal or "ok"
    if outcome.replay is not None:
        end = outcome.replay.terminal
        extra["replayed"] = outcome.replay.events_sent
        extra["resume_end"] = "none" if end is None else "more" if end.get("more") else end["type"]
    if outcome.told:
        extra["presence_told"] = outcome.told
    logger.info("message answered", extra=extra)
