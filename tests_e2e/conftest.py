"""Browser tests: Playwright driving Debian's Chromium against a live ASGI (daphne) server.

The server runs in a forked process on the test database, so what a test writes (with the
`transactional_db` fixture) the server sees, and what the browser does the test can check.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import SyncToAsync
from channels.layers import channel_layers
from channels.routing import get_default_application
from daphne.testing import DaphneProcess
from django.conf import settings
from django.db import connections
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make are still
# ordinary synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# The live server checks webhook signatures against this token, as it would Twilio's.
WEBHOOK_TOKEN = "e2e-webhook-token"
CHROMIUM = os.environ.get("SPOKE_BROWSER", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"


def _application():  # type: ignore[no-untyped-def]
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    return ASGIStaticFilesHandler(get_default_application())


def _server_setup(blocker: Any) -> None:
    # The forked server is not a test: it may use the database whenever a request needs it.
    blocker.unblock()
    # Threads do not survive a fork: the parent's sync-to-async executor would wait forever for
    # its worker, and its channel layer's Redis connections belong to the parent's event loops.
    SyncToAsync.single_thread_executor = ThreadPoolExecutor(max_workers=1)
    channel_layers.backends.clear()
    # Jobs (the send drain) run inside the server process, as under `make run`.
    settings.JOBS_SYNC = True
    settings.TWILIO_AUTH_TOKEN = WEBHOOK_TOKEN


@pytest.fixture(scope="session")
def live_url(django_db_setup: None, django_db_blocker: Any) -> Iterator[str]:
    # The child must not share the parent's open database sockets.
    with django_db_blocker.unblock():
        connections.close_all()
    process = DaphneProcess(
        host="127.0.0.1", get_application=partial(_application), setup=partial(_server_setup, django_db_blocker)
    )
    process.start()
    if not process.ready.wait(timeout=30):
        raise RuntimeError("the live ASGI server did not start")
    yield f"http://127.0.0.1:{process.port.value}"
    process.terminate()
    process.join(timeout=10)
    with django_db_blocker.unblock():
        _end_server_sessions()


def _end_server_sessions() -> None:
    """A killed server leaves its PostgreSQL session for a moment; the test database must drop."""
    connection = connections["default"]
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install -y chromium (or set SPOKE_BROWSER)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    context.set_default_timeout(10_000)
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


def log_in(page: Page, live_url: str, email: str, password: str) -> None:
    page.goto(f"{live_url}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def wait_until_interactive(page: Page) -> None:
    """The page's module has loaded and bound its keys (module scripts run after parsing)."""
    page.locator("html[data-ready='true']").wait_for(state="attached")


def screenshot(page: Page, name: str) -> None:
    """Save the README's screenshots (`make screenshots`); ordinary test runs leave docs/ alone."""
    if not os.environ.get("SPOKE_SCREENSHOTS"):
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
