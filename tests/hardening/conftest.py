"""Fixtures for the hardening tier: load on the real local stack, faults on loopback servers.

Tests here push the product past the happy path (many sockets, thousands of events, servers
that throttle, fail or reset) and assert that no event is lost. Fixtures are added below as
the tests need them; other helpers may append small fixtures at the end.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest


@pytest.fixture
def progress(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Lines for the terminal while a long test runs, shown even though output is captured."""
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capturing = request.config.pluginmanager.get_plugin("capturemanager")
    label = request.node.module.__name__.rsplit(".", 1)[-1] if request.node.module else request.node.name

    def show(message: str) -> None:
        if reporter is None or capturing is None:
            return
        with capturing.global_and_fixture_disabled():
            reporter.write_line(f"    {label}: {message}")

    return show
