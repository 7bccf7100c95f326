"""One index-mode server for the web UI's tests (sign-up open), and a headless Chromium kept
off the network: every request for another host than the test server is aborted."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Dialog, Page, Route, sync_playwright

from tests.e2e.conftest import skopeo  # noqa: F401 (the fixture, shared with the e2e tests)
from tests.support.index import IndexServer, index_server

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).parents[2] / "docs" / "screenshots"


@pytest.fixture(scope="session")
def database_backend() -> str:
    """The pages read through the index's services, whose suites run on both backends."""
    return "sqlite"


@pytest.fixture(scope="session")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IndexServer]:
    data = tmp_path_factory.mktemp("web") / "data"
    settings = {
        "DOCKYARD_INDEX__SIGNUP_ENABLED": "true",
        # Hooks call tests/support/webhook_receiver.py on loopback, which is refused otherwise.
        "DOCKYARD_INDEX__WEBHOOKS__ALLOW": '["127.0.0.1/32"]',
        "DOCKYARD_INDEX__WEBHOOKS__BACKOFF": "1",
        "DOCKYARD_INDEX__WEBHOOKS__MAX_ATTEMPTS": "2",
    }
    with index_server(data, settings) as server:
        yield server


# A module's: Playwright's sync API keeps an event loop running in the test process's thread
# while it is open, where the fixtures of other tests that call asyncio.run() then fail; a
# process that steals other tests after a module of these (pytest -n, --dist worksteal) runs
# them with it closed.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if shutil.which(CHROMIUM) is None:
        pytest.fail("chromium is missing (make test installs the Debian package)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, web: IndexServer) -> Iterator[Page]:
    """A fresh browser context (no cookies) whose requests reach only the test server; every
        dialog (an injected alert would open one) is recorded on `page.dialogs`; confirmations are
    accepted, anything else dismissed."""
    context = browser.new_context(base_url=web.url, viewport={"width": 1280, "height": 900})
    allowed = urlsplit(web.url).netloc

    def only_the_server(route: Route) -> None:
        if urlsplit(route.request.url).netloc == allowed:
            route.continue_()
        else:
            route.abort()

    context.route("**/*", only_the_server)
    opened = context.new_page()
    dialogs: list[str] = []

    def record(dialog: Dialog) -> None:
        dialogs.append(f"{dialog.type}: {dialog.message}")
        if dialog.type == "confirm":  # the site's own confirmations: the user agrees
            dialog.accept()
        else:
            dialog.dismiss()

    opened.on("dialog", record)
    opened.dialogs = dialogs  # type: ignore[attr-defined]
    yield opened
    context.close()


def screenshot(page: Page, name: str) -> None:
    """Saved to docs/screenshots/ only when DOCKYARD_SCREENSHOTS=1 (they are committed)."""
    if os.environ.get("DOCKYARD_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
