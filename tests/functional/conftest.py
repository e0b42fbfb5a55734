"""Fixtures of the functional tier: loopback fakes the handlers under test call over HTTP."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from tests.support.management_api import ManagementApiFake

from healthcoach_realtime.connections import ConnectionStore
from healthcoach_realtime.history.store import HistoryStore
from healthcoach_realtime.local.provision import create_history_table


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
def history(dynamodb: Any) -> HistoryStore:
    """A fresh history table of the test's own, through the store the handlers use."""
    name = f"history-{uuid.uuid4().hex[:8]}"
    create_history_table(dynamodb, name)
    return HistoryStore(dynamodb, name)
