"""The Node producer (``clients/node``) against the local stack: its events reach a browser, in order.

The producer runs as business code would: ``node clients/node/examples/emit-lines.mjs`` in its own
process, configured only by the environment (``AWS_ENDPOINT_URL`` = the stack's AWS endpoint), so
it finds the bus with ``ListEventBuses`` and publishes with ``PutEvents`` over RPC v2 CBOR. The
browser is Debian's headless Chromium on the demo page. ``make test`` installs and builds the
package first; without that these tests fail and say how.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect, sync_playwright
from tests.support.local_stack import StackUrls

from healthcoach_realtime.catalogue import SOURCES

PACKAGE = Path(__file__).resolve().parents[2] / "clients" / "node"
EXAMPLE = PACKAGE / "examples" / "emit-lines.mjs"
CHROMIUM = Path("/usr/bin/chromium")
WAIT_MS = 15_000
NODE_SECONDS = 60


def _node() -> str:
    """The node binary, once the package is installed and built (else: fail, saying what to run)."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH: the Node producer needs Node 20+")
    if not (PACKAGE / "node_modules").is_dir() or not (PACKAGE / "dist" / "index.js").is_file():
        pytest.fail(f"{PACKAGE} is not built: run `make test` (or `npm ci && npm run build` there)")
    return node


def _producer_env(stack: StackUrls) -> dict[str, str]:
    """The environment of a Lambda pointed at the local stack: its AWS endpoint, any credentials."""
    env = {k: v for k, v in os.environ.items() if k not in {"EVENT_BUS_ARN", "EVENT_BUS_NAME"}}
    env.update(
        AWS_ENDPOINT_URL=stack.emulator_url,
        AWS_REGION="us-east-1",
        AWS_ACCESS_KEY_ID="local",
        AWS_SECRET_ACCESS_KEY="local",
    )
    return env


def _emit_lines(stack: StackUrls, events: list[dict[str, Any]]) -> subprocess.CompletedProcess[str]:
    """Run the example producer with one JSON line per event."""
    lines = "".join(json.dumps(event) + "\n" for event in events)
    return subprocess.run(
        [_node(), str(EXAMPLE)],
        input=lines,
        capture_output=True,
        text=True,
        env=_producer_env(stack),
        timeout=NODE_SECONDS,
        check=False,
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the module."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/ensure-chromium (as root it installs it)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        yield chromium
        chromium.close()


@pytest.mark.browser
def test_node_producers_events_reach_the_browser_in_order(browser: Browser, local_stack: StackUrls) -> None:
    """Eight events of four domains, emitted one after another by node, show in the user's tab in order."""
    user = f"node-{uuid.uuid4().hex[:8]}"
    events: list[dict[str, Any]] = [
        {"type": "foodLogCreated", "data": {"id": "f1", "name": "Apple", "mealType": "snack", "calories": 9}},
        {"type": "exerciseLogCreated", "data": {"id": "x1", "activity": "Run", "durationMinutes": 30}},
        {"type": "foodLogUpdated", "data": {"id": "f1", "calories": 100}},
        {"type": "healthMetricCreated", "data": {"id": "m1", "metric": "steps", "value": 4, "unit": "steps"}},
        {"type": "healthProfileUpdated", "data": {"weightKg": 70}},
        {"type": "healthMetricDeleted", "data": {"id": "m1"}},
        {"type": "exerciseLogDeleted", "data": {"id": "x1"}},
        {"type": "foodLogDeleted", "data": {"id": "f1"}},
    ]
    for number, event in enumerate(events):
        event.update(userId=user, eventId=f"{user}-{number}")
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{local_stack.base_url}/?user={user}")
        expect(page.locator("#status")).to_have_attribute("data-status", "open", timeout=WAIT_MS)

        result = _emit_lines(local_stack, events)
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == [event["eventId"] for event in events]

        shown = page.locator("#events li")
        expect(shown).to_have_count(len(events), timeout=WAIT_MS)
        # The demo page shows the newest event first.
        received = [shown.nth(n).get_attribute("data-id") for n in range(len(events))][::-1]
        types = [shown.nth(n).get_attribute("data-type") for n in range(len(events))][::-1]
    finally:
        context.close()
    assert received == [event["eventId"] for event in events]
    assert types == [event["type"] for event in events]


def test_node_producer_refuses_an_invalid_event_before_sending(local_stack: StackUrls) -> None:
    """An event its schema refuses stops the producer (exit 2) with the field and rule, before the bus."""
    event = {"userId": "node-invalid", "type": "foodLogDeleted", "data": {"id": "f1", "calories": 5}}
    result = _emit_lines(local_stack, [event])
    assert result.returncode == 2
    assert result.stdout == ""
    expected = "InvalidEventError: invalid foodLogDeleted: detail.data.calories is not allowed here"
    assert expected in result.stderr


def test_node_producer_uses_the_catalogues_sources() -> None:
    """The Node catalogue maps each domain to the same bus Source as the Python catalogue."""
    script = "import('./dist/index.js').then((m) => console.log(JSON.stringify(m.SOURCES)))"
    result = subprocess.run(
        [_node(), "--input-type=module", "-e", script],
        cwd=PACKAGE,
        capture_output=True,
        text=True,
        timeout=NODE_SECONDS,
        check=True,
    )
    assert json.loads(result.stdout) == dict(SOURCES)
