"""Django's ASGI handler, running each request's synchronous work in one hop on one thread per process.

Django's own handler costs every request (texter sends, webhooks, status callbacks) in three
ways, each measured by the benchmark (`manage.py bench`, docs/benchmarks.md):

- It gives every request a fresh thread (asgiref's ThreadSensitiveContext per request), and
  database connections belong to threads: under uvicorn each request opened a new PostgreSQL
  connection (a server process fork and a `set_config` round trip) and left the old one to the
  garbage collector, so a burst ran PostgreSQL out of connections ("too many clients") and
  CONN_MAX_AGE never kept anything. Here sync code runs on the process's one thread-sensitive
  thread (asgiref's single executor), which keeps one persistent connection; as DESIGN.md has
  it, "Django runs synchronous views on one thread per process" and parallelism comes from
  processes.
- It runs the middleware in async mode, so each of our (sync) middlewares and the view hop
  between the event loop and a thread, a dozen thread switches per request. Here the whole
  chain is loaded in sync mode.
- Even then it crosses to the thread three times per request (the `request_started` signal,
  the response, `response.close()` with `request_finished`), each through asgiref's
  general-purpose `sync_to_async`, and runs a second task per request listening for a
  disconnect that a synchronous view cannot act on. Here the request crosses once: the signal,
  building the request, the middleware and view, and closing the response all run in one
  call on the thread; the event loop only reads the body and writes the response.
- Provider webhooks (two or three per message sent) run through a short chain of their own
  (LEAN_MIDDLEWARE): they use no session, cookie, CSRF token or page header.

The event loop still reads and writes every socket concurrently (websockets are Channels',
not this handler's); only the Django work of requests in one process queues, one at a time.
A streaming response (export downloads) is read on the same thread a few chunks per hop, so a
server-side cursor stays on the thread's connection and a large file is never held in memory
whole (Django's handler reads a synchronous iterator into one list first), and it is closed
after it is sent, as Django does.
"""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import os
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import Any, TypeVar, cast

from asgiref.sync import SyncToAsync, sync_to_async
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.core.handlers.base import BaseHandler
from django.core.handlers.exception import convert_exception_to_response
from django.http import FileResponse, HttpResponseBase, StreamingHttpResponse
from django.urls import set_script_prefix
from django.utils.module_loading import import_string

T = TypeVar("T")

# Chunks of a streaming response read per hop to the Django thread.
STREAM_CHUNKS_PER_HOP = 16


async def in_django_thread(func: Callable[..., T], *args: Any) -> T:
    """Run `func(*args)` on the process's one thread for synchronous Django code, in a copy of the
    caller's context: what `sync_to_async(func, thread_sensitive=True)` does without a
    ThreadSensitiveContext, minus its general-purpose bookkeeping (cancellation shielding, copying
    context variables back), which a request handed over whole does not need."""
    loop = asyncio.get_running_loop()
    context = contextvars.copy_context()

    def run() -> T:
        # What asgiref's thread handler records, so `async_to_sync` inside (channel layer sends)
        # runs its coroutine on this event loop instead of starting a loop of its own.
        SyncToAsync.threadlocal.main_event_loop = loop
        SyncToAsync.threadlocal.main_event_loop_pid = os.getpid()
        return context.run(func, *args)

    return await loop.run_in_executor(SyncToAsync.single_thread_executor, run)


# The provider's webhooks (status reports, replies: two or three requests per message) go through
# a chain of their own: the request id, access log and latency (ops.middleware), not sessions,
# CSRF (they are exempt), authentication, messages or page headers, which they never use. They
# authenticate by Twilio's signature over PUBLIC_BASE_URL, not by Host or cookies.
LEAN_PATH_PREFIX = "/webhooks/"
LEAN_MIDDLEWARE = ("ops.middleware.OpsMiddleware",)


class LeanHandler(BaseHandler):
    """Django's request handling with LEAN_MIDDLEWARE instead of settings.MIDDLEWARE."""

    def __init__(self) -> None:
        super().__init__()
        self._view_middleware: list[Any] = []
        self._template_response_middleware: list[Any] = []
        self._exception_middleware: list[Any] = []
        chain: Any = convert_exception_to_response(self._get_response)  # type: ignore[attr-defined]
        for path in reversed(LEAN_MIDDLEWARE):
            chain = convert_exception_to_response(import_string(path)(chain))
        self._middleware_chain = chain


class OneThreadASGIHandler(ASGIHandler):
    def __init__(self) -> None:
        BaseHandler.__init__(self)
        self.load_middleware(is_async=False)
        self.lean = LeanHandler()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        # No ThreadSensitiveContext: sync code then runs on one thread per process.
        await self.handle(scope, receive, send)

    async def handle(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        try:
            set_script_prefix(get_script_prefix(scope))
            response = await in_django_thread(self.respond, scope, body_file)
            try:
                await self.send_response(response, send)
            finally:
                if response.streaming:
                    # Its content was produced while sending; closing fires `request_finished`.
                    await sync_to_async(response.close, thread_sensitive=True)()
        finally:
            body_file.close()

    def respond(self, scope: dict[str, Any], body_file: Any) -> HttpResponseBase:
        """Everything synchronous about one request, on the Django thread."""
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, response = self.create_request(scope, body_file)
        if request is not None:
            handler = self.lean if request.path_info.startswith(LEAN_PATH_PREFIX) else self
            response = handler.get_response(request)
            response._handler_class = self.__class__  # type: ignore[attr-defined]
            if isinstance(response, FileResponse):
                response.block_size = self.chunk_size
        assert response is not None
        if isinstance(response, StreamingHttpResponse) and not response.is_async:
            response.streaming_content = _read_on_django_thread(cast(Iterator[bytes], response.streaming_content))
        if not response.streaming:
            # The body is already in memory: close now, on this thread (`request_finished`
            # returns the database connection to its CONN_MAX_AGE bookkeeping).
            response.close()
        return response


def _read_on_django_thread(content: Iterable[bytes]) -> AsyncIterator[bytes]:
    chunks = iter(content)

    def next_chunks(chunks: Iterator[bytes]) -> list[bytes]:
        return list(itertools.islice(chunks, STREAM_CHUNKS_PER_HOP))

    async def read() -> AsyncIterator[bytes]:
        while batch := await in_django_thread(next_chunks, chunks):
            for chunk in batch:
                yield chunk

    return read()
