"""Django's ASGI handler, running each request's synchronous work in one hop on one thread per process.

Django's own handler costs the send path in two ways, both measured by the benchmark
(`manage.py bench`, docs/benchmarks.md):

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
  chain is loaded in sync mode and the request crosses to the thread once.

The event loop still reads and writes every socket concurrently (websockets are Channels',
not this handler's); only the Django work of requests in one process queues, one at a time.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.base import BaseHandler
from django.http import HttpRequest, HttpResponseBase


class OneThreadASGIHandler(ASGIHandler):
    def __init__(self) -> None:
        BaseHandler.__init__(self)
        self.load_middleware(is_async=False)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        # No ThreadSensitiveContext: sync_to_async(thread_sensitive=True) then uses one thread per process.
        await self.handle(scope, receive, send)

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)
