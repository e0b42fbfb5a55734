"""Fixtures shared by every tier: one AWS emulator over real HTTP on loopback for the session.

It is the local stack's own emulator (``local/emulator.py``): moto's server, plus the Custom
Event Bus (``eventbridgev2``) that moto lacks.

Each test that needs AWS state gets resources with unique names, so tests never see each
other's rows even though they share the server.
"""

from __future__ import annotations

import io
import logging
import uuid
from collections.abc import Callable, Iterator

import boto3
import pytest

from healthcoach_realtime import clients, emitter
from healthcoach_realtime.local.provision import create_connections_table, create_history_table
from healthcoach_realtime.observability import logger
from healthcoach_realtime.settings import get_settings
from tests.support.network import free_port

REGION = "us-east-1"


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """The emulator's real HTTP server on 127.0.0.1 (a free port), for the whole session."""
    from healthcoach_realtime.local.emulator import Emulator

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    emulator = Emulator(free_port())
    emulator.start()
    yield emulator.endpoint_url
    emulator.stop()


@pytest.fixture
def index_lag(moto_endpoint: str) -> Iterator[Callable[..., None]]:
    """``local.index_lag.set_index_lag`` for one test (``index_lag(0.5)``, or with ``clock=`` a
    test's own clock): the emulator's GSIs lag their tables; the lag before is restored after."""
    from healthcoach_realtime.local import index_lag as lag

    before = lag.index_lag_seconds()
    yield lag.set_index_lag
    lag.set_index_lag(before)


@pytest.fixture
def aws_env(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point boto3 (and the package's cached clients and settings) at the moto server."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    _reset_caches()
    yield moto_endpoint
    _reset_caches()


def _reset_caches() -> None:
    get_settings.cache_clear()
    clients.dynamodb_client.cache_clear()
    clients.eventbridge_client.cache_clear()
    emitter.clear_bus_lookups()
    clients.sqs_client.cache_clear()
    clients.management_api_client.cache_clear()


@pytest.fixture
def dynamodb(aws_env: str):  # type: ignore[no-untyped-def]
    """A low-level DynamoDB client on the moto server."""
    return boto3.client("dynamodb", endpoint_url=aws_env, region_name=REGION)


@pytest.fixture
def connections_table(dynamodb, monkeypatch: pytest.MonkeyPatch) -> str:  # type: ignore[no-untyped-def]
    """A fresh connections table (as DESIGN.md), named in ``CONNECTIONS_TABLE``."""
    name = f"connections-{uuid.uuid4().hex[:8]}"
    create_connections_table(dynamodb, name)
    monkeypatch.setenv("CONNECTIONS_TABLE", name)
    get_settings.cache_clear()
    return name


@pytest.fixture
def history_table(dynamodb, monkeypatch: pytest.MonkeyPatch) -> str:  # type: ignore[no-untyped-def]
    """A fresh history table (the users' seq counters, where ``$connect`` notes new connections),
    named in ``HISTORY_TABLE``."""
    name = f"history-{uuid.uuid4().hex[:8]}"
    create_history_table(dynamodb, name)
    monkeypatch.setenv("HISTORY_TABLE", name)
    get_settings.cache_clear()
    return name


@pytest.fixture
def captured_log() -> Iterator[io.StringIO]:
    """Everything the Powertools logger writes (exactly what CloudWatch would get)."""
    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    yield buffer
    handler.setStream(previous)
