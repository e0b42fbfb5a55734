"""Configuration, read from the environment once and typed (the contract is in DESIGN.md)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

from healthcoach_realtime.exceptions import ConfigurationError

__all__ = [
    "DEFAULT_CONNECTING_GRACE_SECONDS",
    "DEFAULT_CONNECTIONS_TABLE",
    "DEFAULT_EVENT_BUS",
    "DEFAULT_HISTORY_TABLE",
    "DEFAULT_HISTORY_TTL_SECONDS",
    "DEFAULT_MAX_CONNECTIONS_PER_USER",
    "DEFAULT_MESSAGE_RATE_LIMIT",
    "DEFAULT_MESSAGE_RATE_WINDOW_SECONDS",
    "DEFAULT_REDELIVERY_DELAY_MAX_SECONDS",
    "DEFAULT_SESSION_SWEEPS_PER_RUN",
    "ENVIRONMENT_VARIABLES",
    "Settings",
    "get_settings",
]

DEFAULT_CONNECTIONS_TABLE = "healthcoach_realtime_connections"
DEFAULT_EVENT_BUS = "healthcoach-realtime"
DEFAULT_HISTORY_TABLE = "healthcoach_realtime_history"
DEFAULT_HISTORY_TTL_SECONDS = 24 * 3600
CONNECTION_TTL_SECONDS = 7200
DEFAULT_REDELIVERY_DELAY_MAX_SECONDS = 60
# A 410 deletes a connection's row only once it is older than this: the $connect function's
# timeout (10 s) plus a margin; until $connect returns, API Gateway answers 410 for it.
DEFAULT_CONNECTING_GRACE_SECONDS = 30
# Live sessions (DESIGN.md, "Token lifetime" and "Bounds").
DEFAULT_MAX_CONNECTIONS_PER_USER = 10
DEFAULT_MESSAGE_RATE_LIMIT = 10
DEFAULT_MESSAGE_RATE_WINDOW_SECONDS = 10
DEFAULT_SESSION_SWEEPS_PER_RUN = 2
# The variables a function may be given (manifest.py names, per function, the ones it reads);
# the AWS_* variables come from Lambda itself. DATA_TABLE_MAPPINGS is table_mapping's.
ENVIRONMENT_VARIABLES = (
    "CONNECTIONS_TABLE",
    "WS_API_ENDPOINT",
    "USER_POOL_ID",
    "USER_POOL_CLIENT_ID",
    "TOKEN_ISSUER",
    "EVENT_BUS_NAME",
    "EVENT_BUS_ARN",
    "DEAD_LETTER_QUEUE_URL",
    "HISTORY_TABLE",
    "HISTORY_TTL_SECONDS",
    "REDELIVERY_DELAY_MAX_SECONDS",
    "MAX_CONNECTIONS_PER_USER",
    "MESSAGE_RATE_LIMIT",
    "MESSAGE_RATE_WINDOW_SECONDS",
    "SESSION_SWEEPS_PER_RUN",
    "CONNECTING_GRACE_SECONDS",
    "DATA_TABLE_MAPPINGS",
)


@dataclass(frozen=True)
class Settings:
    """Everything a handler or ``emit`` needs to know about its environment."""

    connections_table: str = DEFAULT_CONNECTIONS_TABLE
    ws_api_endpoint: str = ""
    user_pool_id: str = ""
    user_pool_client_id: str = ""
    token_issuer_override: str = ""
    event_bus_name: str = DEFAULT_EVENT_BUS
    event_bus_arn: str = ""
    aws_region: str = "us-east-1"
    dead_letter_queue_url: str = ""
    history_table: str = DEFAULT_HISTORY_TABLE
    history_ttl_seconds: int = DEFAULT_HISTORY_TTL_SECONDS
    redelivery_delay_max_seconds: int = DEFAULT_REDELIVERY_DELAY_MAX_SECONDS
    max_connections_per_user: int = DEFAULT_MAX_CONNECTIONS_PER_USER
    message_rate_limit: int = DEFAULT_MESSAGE_RATE_LIMIT
    message_rate_window_seconds: int = DEFAULT_MESSAGE_RATE_WINDOW_SECONDS
    session_sweeps_per_run: int = DEFAULT_SESSION_SWEEPS_PER_RUN
    connecting_grace_seconds: int = DEFAULT_CONNECTING_GRACE_SECONDS

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """Build from ``env`` (default: ``os.environ``); unset names keep their defaults."""
        e = dict(os.environ) if env is None else env
        return cls(
            connections_table=e.get("CONNECTIONS_TABLE") or DEFAULT_CONNECTIONS_TABLE,
            ws_api_endpoint=e.get("WS_API_ENDPOINT", ""),
            user_pool_id=e.get("USER_POOL_ID", ""),
            user_pool_client_id=e.get("USER_POOL_CLIENT_ID", ""),
            token_issuer_override=e.get("TOKEN_ISSUER", ""),
            event_bus_name=e.get("EVENT_BUS_NAME") or DEFAULT_EVENT_BUS,
            event_bus_arn=e.get("EVENT_BUS_ARN", ""),
            aws_region=e.get("AWS_REGION") or e.get("AWS_DEFAULT_REGION") or "us-east-1",
            dead_letter_queue_url=e.get("DEAD_LETTER_QUEUE_URL", ""),
            history_table=e.get("HISTORY_TABLE") or DEFAULT_HISTORY_TABLE,
            history_ttl_seconds=int(e.get("HISTORY_TTL_SECONDS") or DEFAULT_HISTORY_TTL_SECONDS),
            redelivery_delay_max_seconds=int(
                e.get("REDELIVERY_DELAY_MAX_SECONDS") or DEFAULT_REDELIVERY_DELAY_MAX_SECONDS
            ),
            max_connections_per_user=_positive(
                e, "MAX_CONNECTIONS_PER_USER", DEFAULT_MAX_CONNECTIONS_PER_USER
            ),
            message_rate_limit=_positive(e, "MESSAGE_RATE_LIMIT", DEFAULT_MESSAGE_RATE_LIMIT),
            message_rate_window_seconds=_positive(
                e, "MESSAGE_RATE_WINDOW_SECONDS", DEFAULT_MESSAGE_RATE_WINDOW_SECONDS
            ),
            session_sweeps_per_run=_positive(e, "SESSION_SWEEPS_PER_RUN", DEFAULT_SESSION_SWEEPS_PER_RUN),
            connecting_grace_seconds=_positive(
                e, "CONNECTING_GRACE_SECONDS", DEFAULT_CONNECTING_GRACE_SECONDS
            ),
        )

    @property
    def token_issuer(self) -> str:
        """The expected ``iss``: ``TOKEN_ISSUER`` if set, else the Cognito pool's issuer URL."""
        if self.token_issuer_override:
            return self.token_issuer_override.rstrip("/")
        if not self.user_pool_id:
            raise ConfigurationError("USER_POOL_ID (or TOKEN_ISSUER) must be set to verify tokens")
        region = self.user_pool_id.split("_", 1)[0]
        return f"https://cognito-idp.{region}.amazonaws.com/{self.user_pool_id}"

    @property
    def jwks_url(self) -> str:
        """Always ``<issuer>/.well-known/jwks.json``, as Cognito publishes it."""
        return f"{self.token_issuer}/.well-known/jwks.json"

    def require(self, *names: str) -> None:
        """Fail fast, naming every missing setting a handler depends on."""
        missing = [n for n in names if not getattr(self, n)]
        if missing:
            raise ConfigurationError("missing configuration: " + ", ".join(sorted(missing)))


def _positive(env: dict[str, str], name: str, default: int) -> int:
    """A whole number of at least 1, or ``default`` when unset; anything else fails fast, by name."""
    text = env.get(name, "").strip()
    if not text:
        return default
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise ConfigurationError(f"{name} must be a whole number of at least 1, not {text!r}")
    return int(text)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; tests call ``get_settings.cache_clear()`` after changing env."""
    return Settings.from_env()
