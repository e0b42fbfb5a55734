"""Fixtures of the functional tier: loopback fakes the handlers under test call over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from tests.support.jwks_server import JwksServer
from tests.support.lambda_handlers import forget_cached_clients
from tests.support.management_api import ManagementApiFake

from healthcoach_realtime.connections import ConnectionStore
from healthcoach_realtime.dev_identity import DevIssuer
from healthcoach_realtime.history.store import HistoryStore

# The app client the handlers' tokens are for (USER_POOL_CLIENT_ID).
CLIENT_ID = "healthcoach-web"


@pytest.fixture
def api() -> Iterator[ManagementApiFake]:
    """The @connections management API on a loopback port, recording what it is sent."""
    with ManagementApiFake() as fake:
        yield fake


@pytest.fixture
def store(dynamodb: Any, connections_table: str) -> ConnectionStore:
    """The test's connections table (``connections_table``) through the store the handlers use."""
    return ConnectionStore(dynamodb, connections_table)


@pytest.fixture
def history(dynamodb: Any, history_table: str) -> HistoryStore:
    """The test's fresh history table (the one ``HISTORY_TABLE`` names to the handlers), through
    the store the handlers use."""
    return HistoryStore(dynamodb, history_table)


@pytest.fixture
def issuer() -> Iterator[DevIssuer]:
    """A dev issuer of tokens for ``CLIENT_ID``, its key set served over loopback HTTP."""
    with JwksServer() as server:
        dev = DevIssuer(server.issuer_url, client_id=CLIENT_ID)
        server.publish(dev.jwks())
        yield dev


@pytest.fixture
def handler_environment(
    connections_table: str,
    history_table: str,
    api: ManagementApiFake,
    issuer: DevIssuer,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[None]:
    """Every handler's variables: the tables, the fake @connections API, the test issuer."""
    monkeypatch.setenv("WS_API_ENDPOINT", api.endpoint)
    monkeypatch.setenv("TOKEN_ISSUER", issuer.issuer)
    monkeypatch.setenv("USER_POOL_CLIENT_ID", issuer.client_id)
    monkeypatch.delenv("USER_POOL_ID", raising=False)
    forget_cached_clients()
    yield
    forget_cached_clients()
