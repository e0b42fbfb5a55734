"""The demo page in headless Chromium against the local stack: tabs of one user, another user, errors.

Debian's Chromium (``scripts/ensure-chromium`` installs it), never a browser Playwright downloads.
The stack is ``tests/integration/conftest.py``'s ``local_stack`` (``hc-realtime dev`` in its own
process). Each test uses fresh user ids, so tests sharing one stack never see each other's events.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect, sync_playwright
from tests.support.local_stack import StackUrls

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT = Path("/tmp/demo.png")
WAIT_MS = 15_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the module."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/ensure-chromium (as root it installs it)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh browser profile: its tabs share localStorage, as a real browser's tabs do."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(WAIT_MS)
    yield ctx
    ctx.close()


def _open_as(context: BrowserContext, stack_url: str, user: str) -> Page:
    """A new tab of the demo page as ``user``, once its status pill says open."""
    page = context.new_page()
    page.goto(f"{stack_url}/?user={user}")
    expect(page.locator("#status")).to_have_attribute("data-status", "open", timeout=WAIT_MS)
    return page


def _two_tabs_of_one_user(context: BrowserContext, stack_url: str) -> tuple[Page, Page]:
    """Two open tabs of the demo page as the same new user."""
    user = f"demo-{uuid.uuid4().hex[:8]}"
    return _open_as(context, stack_url, user), _open_as(context, stack_url, user)


def _emit(page: Page, event_type: str) -> str:
    """Click the emit button of ``event_type``; the event id the stack answered."""
    result = page.locator("#emit-result")
    previous = result.get_attribute("data-event-id")
    page.locator(f'button[data-emit="{event_type}"]').click()
    expect(result).to_have_class(re.compile(r"\bok\b"), timeout=WAIT_MS)
    expect(result).not_to_have_attribute("data-event-id", previous or "", timeout=WAIT_MS)
    event_id = result.get_attribute("data-event-id")
    assert event_id
    return event_id


def _event(page: Page, event_id: str) -> Locator:
    """The list item of one event, by its id."""
    return page.locator(f'#events li[data-id="{event_id}"]')


def test_emitted_event_appears_in_every_tab_of_the_user(
    context: BrowserContext, local_stack: StackUrls
) -> None:
    """An event emitted from one tab shows, with its type, in both tabs of that user."""
    first, second = _two_tabs_of_one_user(context, local_stack.base_url)

    event_id = _emit(first, "foodLogCreated")

    for page in (first, second):
        expect(_event(page, event_id).locator(".badge")).to_have_text("foodLogCreated", timeout=WAIT_MS)
        expect(page.locator("#event-count")).to_have_text("1")
    first.screenshot(path=str(SCREENSHOT), full_page=True)


def test_event_of_one_user_never_reaches_another(context: BrowserContext, local_stack: StackUrls) -> None:
    """A tab of another user shows its own events but not this user's."""
    owner = _open_as(context, local_stack.base_url, f"demo-{uuid.uuid4().hex[:8]}")
    other = _open_as(context, local_stack.base_url, f"other-{uuid.uuid4().hex[:8]}")

    foreign_id = _emit(owner, "foodLogCreated")
    expect(_event(owner, foreign_id)).to_have_count(1, timeout=WAIT_MS)
    # The other user's own later event is the barrier: once it is shown, the first one had its chance.
    own_id = _emit(other, "healthProfileUpdated")
    expect(_event(other, own_id)).to_have_count(1, timeout=WAIT_MS)

    assert _event(other, foreign_id).count() == 0
    assert other.locator("#events li").count() == 1


def test_invalid_data_shows_the_stacks_400(context: BrowserContext, local_stack: StackUrls) -> None:
    """Edited data that breaks the schema shows the 400's message, field and rule."""
    page = _open_as(context, local_stack.base_url, f"demo-{uuid.uuid4().hex[:8]}")
    emitter = page.locator('#emitters li[data-type="foodLogCreated"]')
    emitter.locator("button.edit").click()
    emitter.locator("textarea").fill('{"id": "food-1", "calories": -5}')

    emitter.locator('button[data-emit="foodLogCreated"]').click()

    result = page.locator("#emit-result")
    expect(result).to_have_class(re.compile(r"\berror\b"), timeout=WAIT_MS)
    expect(result).to_contain_text("400")
    expect(result).to_contain_text("detail.data.calories")
    expect(result).to_contain_text("minimum")
    assert page.locator("#events li").count() == 0


def test_the_session_expiry_shows_and_moves_on_with_each_refresh(
    context: BrowserContext, local_stack: StackUrls
) -> None:
    """With 6-s tokens the page shows the token's expiry, refreshes on the open socket half-way
    (status stays open), and the shown expiry moves later."""
    page = context.new_page()
    page.goto(f"{local_stack.base_url}/?user=demo-{uuid.uuid4().hex[:8]}&tokenLifetime=6")
    expect(page.locator("#status")).to_have_attribute("data-status", "open", timeout=WAIT_MS)
    expiry = page.locator("#session-exp")
    expect(expiry).not_to_have_attribute("data-exp", "", timeout=WAIT_MS)
    first = int(expiry.get_attribute("data-exp") or "0")
    expect(page.locator("#session-refresh")).not_to_have_attribute("data-refreshes", "0", timeout=WAIT_MS)
    expect(expiry).not_to_have_attribute("data-exp", str(first), timeout=WAIT_MS)
    assert int(expiry.get_attribute("data-exp") or "0") > first
    expect(page.locator("#status")).to_have_attribute("data-status", "open")
    expect(page.locator("#session-refresh")).to_contain_text("without reconnecting")


def test_sign_out_everywhere_closes_the_other_tabs_of_the_user(
    context: BrowserContext, local_stack: StackUrls
) -> None:
    """Sign out in one tab: the stack closes both tabs' sockets (it says 2), and this tab stops."""
    first, second = _two_tabs_of_one_user(context, local_stack.base_url)
    first.locator("#sign-out").click()
    expect(first.locator("#banner")).to_contain_text("2 connection(s) closed", timeout=WAIT_MS)
    expect(first.locator("#status")).to_have_attribute("data-status", "closed")
    second.close()  # it would reconnect: a demo token is always to be had
