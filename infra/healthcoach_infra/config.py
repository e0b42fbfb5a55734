"""Deployment configuration: read from CDK context or the environment, checked once at synth.

A missing or malformed value stops the synth with one message naming every problem and where to
set it, rather than a deploy that fails half-way (or a ``$connect`` that rejects every token)::

    config = DeployConfig.from_sources(context={"stage": "prod"}, env=os.environ)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from healthcoach_infra.throttles import DEFAULT_PEAK_CONNECTIONS, DEFAULT_PING_INTERVAL_SECONDS
from healthcoach_realtime.resources import BUS_RETENTION_DAYS
from healthcoach_realtime.settings import DEFAULT_MAX_CONNECTIONS_PER_USER
from healthcoach_realtime.table_mapping import TableSource, mapping_env_problem, parse_table_sources

__all__ = ["CONTEXT_KEYS", "DeployConfig", "DeployConfigError", "Setting"]


class DeployConfigError(ValueError):
    """The deployment configuration is incomplete or malformed; the message lists every problem."""


@dataclass(frozen=True)
class Setting:
    """One configuration value: its CDK context key and its environment variable."""

    context_key: str
    env_var: str
    meaning: str

    def where(self) -> str:
        """How to set it, as the error message says it."""
        return f"context `{self.context_key}` (-c {self.context_key}=...) or env {self.env_var}"


STAGE = Setting("stage", "STAGE_NAME", "API stage name, e.g. prod")
USER_POOL_ID = Setting("userPoolId", "USER_POOL_ID", "Cognito user pool id, e.g. us-east-1_AbC123xyz")
USER_POOL_CLIENT_ID = Setting("userPoolClientId", "USER_POOL_CLIENT_ID", "Cognito app client id")
DATA_TABLE_STREAMS = Setting(
    "dataTableStreamArns",
    "DATA_TABLE_STREAM_ARNS",
    "JSON object: data table name -> stream ARN, or -> {streamArn, family, userAttribute, ...}",
)
ALARM_EMAIL = Setting("alarmEmail", "ALARM_EMAIL", "address subscribed to the alarm topic")
API_GATEWAY_LOG_ROLE = Setting(
    "apiGatewayCloudWatchRole", "API_GATEWAY_CLOUDWATCH_ROLE", "set API Gateway's account log role"
)
BUS_RETENTION = Setting(
    "busRetentionDays", "BUS_RETENTION_DAYS", "days the event bus keeps events (whole days, 1-365)"
)
PEAK_CONNECTIONS = Setting(
    "peakConnections", "PEAK_CONNECTIONS", "peak open connections the stage throttles are sized for"
)
PING_INTERVAL = Setting(
    "pingIntervalSeconds", "PING_INTERVAL_SECONDS", "seconds between a quiet client's pings (throttles)"
)
MAX_CONNECTIONS_PER_USER = Setting(
    "maxConnectionsPerUser", "MAX_CONNECTIONS_PER_USER", "open connections one user may have at most"
)

CONTEXT_KEYS = tuple(
    s.context_key
    for s in (
        STAGE,
        USER_POOL_ID,
        USER_POOL_CLIENT_ID,
        DATA_TABLE_STREAMS,
        ALARM_EMAIL,
        API_GATEWAY_LOG_ROLE,
        BUS_RETENTION,
        PEAK_CONNECTIONS,
        PING_INTERVAL,
        MAX_CONNECTIONS_PER_USER,
    )
)
# What the Custom Event Bus accepts as StorageConfiguration.RetentionPeriodInDays.
RETENTION_DAYS_RANGE = range(1, 366)

_STAGE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
_USER_POOL_ID = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d_[0-9A-Za-z]+$")
_CLIENT_ID = re.compile(r"^[\w+]{1,128}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class DeployConfig:
    """Everything about one deployment that is not in the code."""

    stage: str
    user_pool_id: str
    user_pool_client_id: str
    # The data tables the stream bridge reads: each one's stream ARN and mapping (table_mapping).
    data_tables: tuple[TableSource, ...] = ()
    alarm_email: str = ""
    create_api_gateway_log_role: bool = True
    # How long the bus keeps events: the window in which an undelivered event can be redriven.
    bus_retention_days: int = BUS_RETENTION_DAYS
    # What the stage's route throttles are sized for (throttles.py has the formula).
    peak_connections: int = DEFAULT_PEAK_CONNECTIONS
    ping_interval_seconds: int = DEFAULT_PING_INTERVAL_SECONDS
    max_connections_per_user: int = DEFAULT_MAX_CONNECTIONS_PER_USER

    @property
    def data_table_streams(self) -> dict[str, str]:
        """Data table name -> DynamoDB stream ARN: one event source of the stream bridge each."""
        return {source.table.name: source.stream_arn for source in self.data_tables}

    @property
    def user_pool_region(self) -> str:
        """The region in the pool id (``us-east-1_...``): where the token issuer lives."""
        return self.user_pool_id.split("_", 1)[0]

    @classmethod
    def from_sources(cls, context: Mapping[str, Any], env: Mapping[str, str]) -> DeployConfig:
        """Context wins over the environment; raises ``DeployConfigError`` naming every problem."""
        problems: list[str] = []

        def read(setting: Setting) -> Any:
            value = context.get(setting.context_key)
            if value is None or value == "":
                value = env.get(setting.env_var, "")
            return value

        def required(setting: Setting, pattern: re.Pattern[str]) -> str:
            value = str(read(setting)).strip()
            if not value:
                problems.append(f"missing {setting.meaning}: set {setting.where()}")
            elif not pattern.match(value):
                problems.append(f"malformed {setting.meaning}: {value!r} (from {setting.where()})")
            return value

        stage = required(STAGE, _STAGE)
        user_pool_id = required(USER_POOL_ID, _USER_POOL_ID)
        client_id = required(USER_POOL_CLIENT_ID, _CLIENT_ID)
        data_tables = _data_tables(read(DATA_TABLE_STREAMS), problems.append)
        alarm_email = str(read(ALARM_EMAIL)).strip()
        if alarm_email and not _EMAIL.match(alarm_email):
            problems.append(f"malformed {ALARM_EMAIL.meaning}: {alarm_email!r} (from {ALARM_EMAIL.where()})")
        log_role = _flag(read(API_GATEWAY_LOG_ROLE), default=True)
        retention = _retention_days(read(BUS_RETENTION), problems.append)
        peak = _whole(read(PEAK_CONNECTIONS), PEAK_CONNECTIONS, DEFAULT_PEAK_CONNECTIONS, problems.append)
        ping = _whole(read(PING_INTERVAL), PING_INTERVAL, DEFAULT_PING_INTERVAL_SECONDS, problems.append)
        per_user = _whole(
            read(MAX_CONNECTIONS_PER_USER),
            MAX_CONNECTIONS_PER_USER,
            DEFAULT_MAX_CONNECTIONS_PER_USER,
            problems.append,
        )
        if problems:
            raise DeployConfigError("deployment configuration:\n  - " + "\n  - ".join(problems))
        return cls(
            stage,
            user_pool_id,
            client_id,
            data_tables,
            alarm_email,
            log_role,
            retention,
            peak_connections=peak,
            ping_interval_seconds=ping,
            max_connections_per_user=per_user,
        )


def _data_tables(raw: Any, problem: Callable[[str], None]) -> tuple[TableSource, ...]:
    """The data tables and their mappings (a JSON string from env, an object from cdk.json), each
    with its stream; and whether the mapping fits in the stream bridge's environment."""
    sources, problems = parse_table_sources(raw, where=DATA_TABLE_STREAMS.where(), require_stream_arn=True)
    for text in problems:
        problem(text)
    too_big = mapping_env_problem(source.table for source in sources)
    if too_big:
        problem(f"{too_big} (from {DATA_TABLE_STREAMS.where()})")
    return sources


def _retention_days(raw: Any, problem: Callable[[str], None]) -> int:
    """Whole days in 1-365 (an int from cdk.json, a string from env or ``-c``); default when unset."""
    if raw in (None, ""):
        return BUS_RETENTION_DAYS
    text = str(raw).strip()
    if (
        isinstance(raw, bool)
        or not (text.isascii() and text.isdigit())
        or int(text) not in RETENTION_DAYS_RANGE
    ):
        problem(f"malformed {BUS_RETENTION.meaning}: {raw!r} (from {BUS_RETENTION.where()})")
        return BUS_RETENTION_DAYS
    return int(text)


def _whole(raw: Any, setting: Setting, default: int, problem: Callable[[str], None]) -> int:
    """A whole number of at least 1 (an int from cdk.json, a string from env or ``-c``), or the default."""
    if raw in (None, ""):
        return default
    text = str(raw).strip()
    if isinstance(raw, bool) or not (text.isascii() and text.isdigit()) or int(text) < 1:
        problem(
            f"malformed {setting.meaning}: {raw!r}, a whole number of at least 1 (from {setting.where()})"
        )
        return default
    return int(text)


def _flag(raw: Any, *, default: bool) -> bool:
    """A boolean from context (true/false) or env ("true"/"false"/"1"/"0")."""
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if not text:
        return default
    return text not in ("false", "0", "no", "off")
