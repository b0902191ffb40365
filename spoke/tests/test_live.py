"""core.live: a live event sent from a web process's Django thread is handed to the server's event
loop without waiting for it; elsewhere it is sent before returning."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import SyncToAsync

from core import live


class RecordingLayer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any], int]] = []
        self.release: asyncio.Event | None = None

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        if self.release is not None:
            await self.release.wait()
        self.sent.append((group, message, threading.get_ident()))


def _run_in_a_thread(function: Any) -> None:
    """Run `function` on a fresh thread: whatever event loop this test process's thread has seen
    (the browser tests' Playwright leaves one behind) is not the code's business."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            function()
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=10)
    if errors:
        raise errors[0]


_loop_threads: dict[int, int] = {}


def server_thread_of(loop: asyncio.AbstractEventLoop) -> int:
    return _loop_threads[id(loop)]


@pytest.fixture
def server_loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()

    def run() -> None:
        _loop_threads[id(loop)] = threading.get_ident()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=5)
    loop.close()


def test_from_the_django_thread_the_server_loop_sends_it_without_holding_the_request(
    server_loop: asyncio.AbstractEventLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    layer = RecordingLayer()
    layer.release = asyncio.run_coroutine_threadsafe(_event(), server_loop).result(timeout=5)
    monkeypatch.setattr(live, "get_channel_layer", lambda: layer)

    def request_thread() -> None:
        # What core.asgi.in_django_thread records on the thread it runs a request on.
        SyncToAsync.threadlocal.main_event_loop = server_loop
        SyncToAsync.threadlocal.main_event_loop_pid = os.getpid()
        live._group_send("texter.1", {"type": "live.event", "event": "reply_received"}, "reply_received")

    _run_in_a_thread(request_thread)

    assert layer.sent == []  # returned before the send finished: the request is not held
    server_loop.call_soon_threadsafe(layer.release.set)
    asyncio.run_coroutine_threadsafe(asyncio.sleep(0.05), server_loop).result(timeout=5)
    [(group, message, thread)] = layer.sent
    assert (group, message["event"]) == ("texter.1", "reply_received")
    assert thread == server_thread_of(server_loop)  # sent on the server's loop


def test_without_a_server_loop_it_is_sent_before_returning(monkeypatch: pytest.MonkeyPatch) -> None:
    layer = RecordingLayer()
    monkeypatch.setattr(live, "get_channel_layer", lambda: layer)

    # A thread of its own (a worker's, a command's): no event loop, none recorded.
    _run_in_a_thread(
        lambda: live._group_send("campaign.7", {"type": "live.event", "event": "stats_changed"}, "stats_changed")
    )

    assert [(group, message["event"]) for group, message, _ in layer.sent] == [("campaign.7", "stats_changed")]


async def _event() -> asyncio.Event:
    return asyncio.Event()
