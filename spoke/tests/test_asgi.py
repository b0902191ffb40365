"""The ASGI handler (core/asgi.py): each request's synchronous work crosses to one thread per
process once, keeps that thread's database connection, and still fires Django's request signals,
streams, and turns a crashing view into a 500."""

from __future__ import annotations

import asyncio
import threading
import urllib.parse
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest
from asgiref.sync import SyncToAsync
from django.core import signals

from core.asgi import STREAM_CHUNKS_PER_HOP
from spoke.asgi import application
from spoke.tests import asgi_urls

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.urls("spoke.tests.asgi_urls")]


class CountingExecutor(ThreadPoolExecutor):
    """asgiref's one thread for sync code, counting how often work is handed to it."""

    def __init__(self, wrapped: ThreadPoolExecutor) -> None:
        self.wrapped = wrapped
        self.handed = 0

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.handed += 1
        return self.wrapped.submit(fn, *args, **kwargs)


@pytest.fixture(autouse=True)
def persistent_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    """Connections kept between requests, as production's DATABASE_CONN_MAX_AGE (SQLite's default closes them)."""
    from django.db import connections

    for alias in connections:
        monkeypatch.setitem(connections[alias].settings_dict, "CONN_MAX_AGE", 600)


@pytest.fixture
def hops(monkeypatch: pytest.MonkeyPatch) -> CountingExecutor:
    counting = CountingExecutor(SyncToAsync.single_thread_executor)
    monkeypatch.setattr(SyncToAsync, "single_thread_executor", counting)
    return counting


@pytest.fixture
def signals_seen() -> Iterator[list[tuple[str, int]]]:
    seen: list[tuple[str, int]] = []

    def started(**kwargs: Any) -> None:
        seen.append(("started", threading.get_ident()))

    def finished(**kwargs: Any) -> None:
        seen.append(("finished", threading.get_ident()))

    signals.request_started.connect(started)
    signals.request_finished.connect(finished)
    asgi_urls.seen.clear()
    yield seen
    signals.request_started.disconnect(started)
    signals.request_finished.disconnect(finished)


async def _request(path: str, on_body: Any = None) -> tuple[int, bytes]:
    status, _, body = await _call("GET", path, [], b"", on_body)
    return status, body


def test_a_request_crosses_to_the_django_thread_once_and_keeps_its_connection(
    hops: CountingExecutor, signals_seen: list[tuple[str, int]]
) -> None:
    async def three() -> list[tuple[int, bytes]]:
        return [await _request("/plain/") for _ in range(3)]

    answers = asyncio.run(three())

    assert answers == [(200, b"hello GET")] * 3
    assert hops.handed == 3  # one hop per request: signals, middleware, view and close together
    views = asgi_urls.seen
    assert len(views) == 3
    threads = {thread for _, thread, _ in views}
    assert len(threads) == 1 and threads != {threading.get_ident()}
    assert len({conn for _, _, conn in views}) == 1  # the thread's connection is kept, not reopened
    # Django's request signals still fire, once each per request, on that same thread.
    assert signals_seen == [("started", *threads), ("finished", *threads)] * 3


def test_a_streaming_response_is_streamed_on_the_django_thread_then_closed(
    hops: CountingExecutor,
    signals_seen: list[tuple[str, int]],
) -> None:
    status, body = asyncio.run(_request("/streaming/"))

    assert (status, body) == (200, b"row 0\nrow 1\nrow 2\n")
    assert hops.handed == 4  # the request, two reads (the rows, then their end), the close
    assert [what for what, _, _ in asgi_urls.seen] == ["view", "row", "row", "row"]
    # The rows (a server-side cursor, in an export) are read on the view's thread and connection.
    assert len({(thread, conn) for _, thread, conn in asgi_urls.seen}) == 1
    # Closed after the last row was sent, not before the first.
    assert [what for what, _ in signals_seen] == ["started", "finished"]


def test_a_crashing_view_answers_500_and_the_request_still_finishes(
    signals_seen: list[tuple[str, int]], caplog: pytest.LogCaptureFixture
) -> None:
    status, body = asyncio.run(_request("/broken/"))

    assert status == 500
    assert b"a bug in a view" not in body  # no traceback to the client
    assert [what for what, _ in signals_seen] == ["started", "finished"]
    assert "RuntimeError: a bug in a view" in caplog.text  # the traceback is in the log


def test_a_long_stream_is_read_a_few_chunks_at_a_time_not_whole_before_sending() -> None:
    asgi_urls.seen.clear()
    produced_at_each_send: list[int] = []

    def on_body() -> None:
        produced_at_each_send.append(sum(1 for what, _, _ in asgi_urls.seen if what == "row"))

    status, body = asyncio.run(_request("/streaming/?rows=100", on_body))

    assert status == 200 and body.count(b"row ") == 100
    assert produced_at_each_send[0] == STREAM_CHUNKS_PER_HOP  # not all 100 first
    assert max(produced_at_each_send) == 100


@pytest.mark.urls("spoke.urls")
def test_provider_webhooks_run_through_their_own_short_chain(settings: Any) -> None:
    """A status report through the ASGI app: answered by the view, with the request id (and the
    access log and latency), without the page middleware (no CSP or frame headers); a page still
    gets them."""
    from twilio.request_validator import RequestValidator

    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = "AC" + "0" * 32, "webhook-secret"
    settings.PUBLIC_BASE_URL = "https://spoke.example.org"
    params = {"MessageSid": "SMnobody", "MessageStatus": "delivered", "AccountSid": settings.TWILIO_ACCOUNT_SID}
    signature = RequestValidator("webhook-secret").compute_signature(
        "https://spoke.example.org/webhooks/twilio/status", params
    )
    body = urllib.parse.urlencode(params).encode()
    headers = [
        (b"content-type", b"application/x-www-form-urlencoded"),
        (b"x-twilio-signature", signature.encode()),
    ]

    status, answer_headers, _ = asyncio.run(_call("POST", "/webhooks/twilio/status", headers, body))
    forged, _, _ = asyncio.run(_call("POST", "/webhooks/twilio/status", headers[:1], body))
    page, page_headers, _ = asyncio.run(_call("GET", "/accounts/login/", [], b""))

    assert (status, forged, page) == (204, 403, 200)  # the signature is still checked
    assert "x-request-id" in answer_headers
    assert "content-security-policy" not in answer_headers and "x-frame-options" not in answer_headers
    assert "content-security-policy" in page_headers and "x-frame-options" in page_headers


async def _call(
    method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes, on_body: Any = None
) -> tuple[int, dict[str, str], bytes]:
    """One request through the ASGI app, as a server would pass it; `on_body` runs at each body chunk."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path.partition("?")[0],
        "raw_path": path.partition("?")[0].encode(),
        "query_string": path.partition("?")[2].encode(),
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"content-length", str(len(body)).encode()), *headers],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    received = False

    async def receive() -> dict[str, Any]:
        nonlocal received
        if not received:
            received = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()
        raise AssertionError

    start: dict[str, Any] = {}
    chunks: list[bytes] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
        else:
            chunks.append(message.get("body", b""))
            if on_body is not None:
                on_body()

    await application(scope, receive, send)
    headers_out = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    return start["status"], headers_out, b"".join(chunks)
