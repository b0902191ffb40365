"""Browser tests: Playwright driving Debian's Chromium against a live ASGI (daphne) server.

The server runs in a forked process on the test database, so what a test writes (with the
`transactional_db` fixture) the server sees, and what the browser does the test can check.
"""

from __future__ import annotations

import os
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
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
from twilio.request_validator import RequestValidator

from spoke.testing import CHILD_APPLICATION_NAME, end_child_sessions

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


def _server_setup(blocker: Any, channel_layer_settings: dict[str, Any] | None = None) -> None:
    # The forked server is not a test: it may use the database whenever a request needs it.
    blocker.unblock()
    os.environ["PGAPPNAME"] = CHILD_APPLICATION_NAME  # its sessions, ended when it stops
    # Threads do not survive a fork: the parent's sync-to-async executor would wait forever for
    # its worker, and its channel layer's Redis connections belong to the parent's event loops.
    SyncToAsync.single_thread_executor = ThreadPoolExecutor(max_workers=1)
    if channel_layer_settings is not None:
        settings.CHANNEL_LAYERS = channel_layer_settings
    channel_layers.backends.clear()
    # Jobs (the send drain) run inside the server process, as under `make run`.
    settings.JOBS_SYNC = True
    settings.TWILIO_AUTH_TOKEN = WEBHOOK_TOKEN


@contextmanager
def _live_server(blocker: Any, channel_layer_settings: dict[str, Any] | None = None) -> Iterator[str]:
    # The child must not share the parent's open database sockets.
    with blocker.unblock():
        connections.close_all()
    process = DaphneProcess(
        host="127.0.0.1",
        get_application=partial(_application),
        setup=partial(_server_setup, blocker, channel_layer_settings),
    )
    process.start()
    if not process.ready.wait(timeout=30):
        raise RuntimeError("the live ASGI server did not start")
    try:
        yield f"http://127.0.0.1:{process.port.value}"
    finally:
        process.terminate()
        process.join(timeout=10)
        with blocker.unblock():
            end_child_sessions()


@pytest.fixture(scope="session")
def live_url(django_db_setup: None, django_db_blocker: Any) -> Iterator[str]:
    with _live_server(django_db_blocker) as url:
        yield url


# The channels-redis layer both the test process and a second live server use, whatever the
# suite's own settings: REDIS_URL's server (or the local one), under a prefix of this run's own.
REDIS_CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {
            "hosts": [os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"],
            "prefix": f"spoke-e2e-{os.getpid()}",
        },
    }
}


@pytest.fixture(scope="session")
def redis_live_url(django_db_setup: None, django_db_blocker: Any) -> Iterator[str]:
    """A live server in its own process whose websockets hear the Redis channel layer."""
    with _live_server(django_db_blocker, REDIS_CHANNEL_LAYERS) as url:
        yield url


@pytest.fixture
def redis_channel_layer(settings: Any) -> Iterator[None]:
    """This (test) process publishes over the same Redis channel layer as `redis_live_url`."""
    settings.CHANNEL_LAYERS = REDIS_CHANNEL_LAYERS
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


def in_another_thread(task: Any) -> None:
    """Run `task` in a thread of its own: Playwright's event loop owns this one, and publishing a
    live update needs a thread without a running loop (as in a web or worker process)."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            task()
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=30)
    if errors:
        raise errors[0]


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


PHONE = {"width": 375, "height": 740}


@pytest.fixture
def phone_page(browser: Browser) -> Iterator[Page]:
    """A 375-px-wide touch screen, like a small phone."""
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def deliver_inbound(live_url: str, *, from_number: str, body: str, sid: str, to_number: str = "+15005550006") -> None:
    """A reply reaching the live server as Twilio would send it: a signed webhook."""
    params = {"MessageSid": sid, "From": from_number, "To": to_number, "Body": body}
    url = f"{settings.PUBLIC_BASE_URL}/webhooks/twilio/inbound"
    signature = RequestValidator(WEBHOOK_TOKEN).compute_signature(url, params)
    request = urllib.request.Request(  # noqa: S310 (loopback live server)
        f"{live_url}/webhooks/twilio/inbound",
        data=urllib.parse.urlencode(params).encode(),
        headers={"X-Twilio-Signature": signature},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        assert response.status == 200


def log_in(page: Page, live_url: str, email: str, password: str) -> None:
    page.goto(f"{live_url}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def wait_until_interactive(page: Page) -> None:
    """The page's module has loaded and bound its keys (module scripts run after parsing)."""
    page.locator("html[data-ready='true']").wait_for(state="attached")


def screenshot(page: Page, name: str, *, full_page: bool = True) -> None:
    """Save the README's screenshots (`make screenshots`); ordinary test runs leave docs/ alone."""
    if not os.environ.get("SPOKE_SCREENSHOTS"):
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page, animations="disabled")


def no_horizontal_scroll(page: Page) -> bool:
    """Nothing sticks out sideways (the page fits the screen's width)."""
    return bool(page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth"))
