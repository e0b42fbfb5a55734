"""The Lambda functions, one entry each: the single source the CDK stack, the local stack, the
cold-start bench and DESIGN.md's settings paragraph are built from.

An entry says what the function is (its folder under ``functions/``), what invokes it, which
settings (environment variables of ``settings.py``) it reads, which ``@connections`` methods it
calls, and how it is sized. The stacks derive each function's environment from ``settings``
alone, so a function never sees a variable it does not read. Plain frozen dataclasses: imported
by handlers at cold start (``require_settings``) and by the CDK app, without either's dependencies.

Adding a function is one ``FunctionEntry`` here and one ``functions/<name>/handler.py``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from healthcoach_realtime.exceptions import ConfigurationError
from healthcoach_realtime.settings import ENVIRONMENT_VARIABLES

__all__ = [
    "BASE_DEPENDENCIES",
    "FUNCTIONS",
    "PUBLISHER_SDK",
    "ConnectionsMethod",
    "DispatchQueue",
    "FunctionEntry",
    "Route",
    "Schedule",
    "TableStreams",
    "Trigger",
    "by_name",
    "check_cold_start",
    "missing_settings",
    "posters",
    "require_settings",
    "routes",
    "validate",
]

ConnectionsMethod = Literal["POST", "GET", "DELETE"]
# Every function needs these; boto3 is left to the Lambda runtime unless the function publishes.
BASE_DEPENDENCIES = ("aws-lambda-powertools", "fastjsonschema")
# A publisher to the bus speaks eventbridgev2, which the runtime's own boto3 may predate.
PUBLISHER_SDK = ("boto3", "botocore")
_MANAGEMENT_ENDPOINT = "WS_API_ENDPOINT"


@dataclass(frozen=True)
class Route:
    """A WebSocket API route (``$connect``, ``$disconnect``, ``$default`` or a custom key)."""

    key: str


@dataclass(frozen=True)
class DispatchQueue:
    """The FIFO dispatch queue (SQS event source, partial batch responses)."""


@dataclass(frozen=True)
class TableStreams:
    """The DynamoDB streams of the configured data tables."""


@dataclass(frozen=True)
class Schedule:
    """EventBridge Scheduler at ``rate(<minutes> minute)``."""

    minutes: int = 1


Trigger = Route | DispatchQueue | TableStreams | Schedule


@dataclass(frozen=True)
class FunctionEntry:
    """One Lambda function: everything about it that is not a resource name or a grant."""

    name: str
    description: str
    trigger: Trigger
    # Environment variables read (names from settings.ENVIRONMENT_VARIABLES); only these are set.
    settings: tuple[str, ...]
    memory_mb: int
    timeout_seconds: int
    # The subset of ``settings`` without a usable default: checked at cold start.
    required: tuple[str, ...] = ()
    # @connections methods called (each needs WS_API_ENDPOINT among ``settings``).
    connections: tuple[ConnectionsMethod, ...] = ()
    # Third-party distributions bundled besides BASE_DEPENDENCIES.
    extra_dependencies: tuple[str, ...] = ()
    # Concurrent invocations at most (the event source's MaximumConcurrency); None: unbounded.
    max_concurrency: int | None = None

    @property
    def dependencies(self) -> tuple[str, ...]:
        """What the bundle installs."""
        return (*BASE_DEPENDENCIES, *self.extra_dependencies)

    @property
    def construct_id(self) -> str:
        """``session_sweeper`` -> ``SessionSweeper``: the CDK construct id (and logical id stem)."""
        return "".join(part.capitalize() for part in self.name.split("_"))


FUNCTIONS: tuple[FunctionEntry, ...] = (
    FunctionEntry(
        "connect",
        "$connect: verify the Cognito token, record the connection",
        Route("$connect"),
        settings=(
            "CONNECTIONS_TABLE",
            "HISTORY_TABLE",  # the note of a new connection on the user's seq counter
            "USER_POOL_ID",
            "USER_POOL_CLIENT_ID",
            "TOKEN_ISSUER",
            "WS_API_ENDPOINT",  # GetConnection on each connection at the limit
            "MAX_CONNECTIONS_PER_USER",
        ),
        required=("USER_POOL_CLIENT_ID",),
        connections=("GET",),
        memory_mb=512,
        timeout_seconds=10,
        extra_dependencies=("pyjwt[crypto]",),
    ),
    FunctionEntry(
        "disconnect",
        "$disconnect: forget the connection",
        Route("$disconnect"),
        settings=("CONNECTIONS_TABLE", "HISTORY_TABLE", "WS_API_ENDPOINT"),  # presence to siblings
        required=("WS_API_ENDPOINT",),
        connections=("POST",),
        memory_mb=256,
        timeout_seconds=10,
    ),
    FunctionEntry(
        "dispatcher",
        "Deliver domain events from SQS to every open connection of their user",
        DispatchQueue(),
        settings=(
            "CONNECTIONS_TABLE",
            "HISTORY_TABLE",
            "HISTORY_TTL_SECONDS",
            "WS_API_ENDPOINT",
            "DEAD_LETTER_QUEUE_URL",
            "REDELIVERY_DELAY_MAX_SECONDS",
            "CONNECTING_GRACE_SECONDS",
        ),
        required=("WS_API_ENDPOINT", "DEAD_LETTER_QUEUE_URL"),
        connections=("POST",),
        memory_mb=512,
        # The dispatch queue's visibility timeout (180 s) must be at least six times this.
        # Posts start only while one could still end before the deadline (7 s per attempt,
        # 1 s to report): 30 s leaves 22 s for a slow DynamoDB stage before posts are deferred.
        timeout_seconds=30,
        # Each posts with up to 32 connections in flight, and every dispatcher shares the
        # account's @connections rate (10,000 requests/s) with other APIs.
        max_concurrency=10,
    ),
    FunctionEntry(
        "stream_bridge",
        "Turn data-table stream records into domain events on the bus",
        TableStreams(),
        settings=("EVENT_BUS_ARN", "EVENT_BUS_NAME", "DEAD_LETTER_QUEUE_URL", "DATA_TABLE_MAPPINGS"),
        required=("DEAD_LETTER_QUEUE_URL",),
        memory_mb=256,
        timeout_seconds=30,
        extra_dependencies=PUBLISHER_SDK,
    ),
    FunctionEntry(
        "default",
        "$default: ping, resume, presence, auth (token refresh); rate limited per connection",
        Route("$default"),
        settings=(
            "CONNECTIONS_TABLE",
            "HISTORY_TABLE",
            "WS_API_ENDPOINT",
            "USER_POOL_ID",  # auth (token refresh) verifies exactly as $connect does
            "USER_POOL_CLIENT_ID",
            "TOKEN_ISSUER",
            "MESSAGE_RATE_LIMIT",
            "MESSAGE_RATE_WINDOW_SECONDS",
        ),
        required=("WS_API_ENDPOINT",),
        connections=("POST", "DELETE"),
        memory_mb=256,
        timeout_seconds=10,
        # auth verifies an RS256 token as $connect does (imported on the first auth only).
        extra_dependencies=("pyjwt[crypto]",),
    ),
    FunctionEntry(
        "session_sweeper",
        "Close connections whose token expired (EventBridge Scheduler, every minute)",
        Schedule(minutes=1),
        settings=("CONNECTIONS_TABLE", "WS_API_ENDPOINT", "SESSION_SWEEPS_PER_RUN"),
        required=("WS_API_ENDPOINT",),
        connections=("POST", "DELETE"),
        memory_mb=256,
        # Two passes a minute: the second starts 30 s in and needs 15 s (sweeper handler).
        timeout_seconds=58,
    ),
)


def validate(entries: tuple[FunctionEntry, ...]) -> None:
    """Raise ``ConfigurationError`` for a manifest the stacks could not build faithfully."""
    names = [entry.name for entry in entries]
    if len(set(names)) != len(names):
        raise ConfigurationError(f"function names repeat: {sorted(names)}")
    keys = [entry.trigger.key for entry in entries if isinstance(entry.trigger, Route)]
    if len(set(keys)) != len(keys):
        raise ConfigurationError(f"route keys repeat: {sorted(keys)}")
    for entry in entries:
        unknown = sorted(set(entry.settings) - set(ENVIRONMENT_VARIABLES))
        if unknown:
            raise ConfigurationError(f"{entry.name} reads unknown settings: {', '.join(unknown)}")
        if not set(entry.required) <= set(entry.settings):
            raise ConfigurationError(f"{entry.name} requires settings it does not read")
        if entry.connections and _MANAGEMENT_ENDPOINT not in entry.settings:
            raise ConfigurationError(f"{entry.name} calls @connections without reading WS_API_ENDPOINT")


validate(FUNCTIONS)


def by_name(entries: tuple[FunctionEntry, ...] = FUNCTIONS) -> dict[str, FunctionEntry]:
    """Name -> entry, in manifest order."""
    return {entry.name: entry for entry in entries}


def routes(entries: tuple[FunctionEntry, ...] = FUNCTIONS) -> dict[str, str]:
    """Route key -> function name, for the WebSocket API."""
    return {entry.trigger.key: entry.name for entry in entries if isinstance(entry.trigger, Route)}


def posters(entries: tuple[FunctionEntry, ...] = FUNCTIONS) -> dict[str, tuple[ConnectionsMethod, ...]]:
    """Function name -> the @connections methods it calls, for those that call any."""
    return {entry.name: entry.connections for entry in entries if entry.connections}


def missing_settings(entry: FunctionEntry, env: Mapping[str, str]) -> list[str]:
    """The required settings of ``entry`` that ``env`` leaves unset or empty."""
    return [name for name in entry.required if not env.get(name)]


def require_settings(name: str, env: Mapping[str, str] | None = None) -> None:
    """At a handler's cold start: fail, naming each one, if a required setting is missing."""
    missing = missing_settings(by_name()[name], os.environ if env is None else env)
    if missing:
        raise ConfigurationError(f"{name}: missing configuration: {', '.join(missing)}")


def check_cold_start(name: str) -> None:
    """A handler's import-time check: ``require_settings`` in a Lambda environment (deployed, or
    ``hc-realtime dev``'s; both set ``AWS_LAMBDA_FUNCTION_NAME``), so a misconfigured function
    fails its first invocation naming what is missing. Code that merely imports the handler
    (tests, tools) is not held to a deployment's settings."""
    if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        require_settings(name)
