"""Django's ASGI handler, running each process's synchronous request code on one thread.

Django's own handler gives every request a fresh thread (asgiref's ThreadSensitiveContext per
request), and database connections belong to threads: under uvicorn each request opened a new
PostgreSQL connection (a server process fork and a `set_config` round trip) and left the old one
to the garbage collector, so a burst of requests ran PostgreSQL out of connections ("too many
clients") and persistent connections (CONN_MAX_AGE) never persisted. The benchmark measured it:
43 sends/s at 50 texters with half of them failing.

Here sync code runs on the process's one thread-sensitive thread (asgiref's single executor), as
DESIGN.md has it: "Django runs synchronous views on one thread per process", and web parallelism
comes from processes. That thread keeps one persistent connection. The event loop still reads
and writes every socket concurrently; only the Django work of requests in one process queues.
"""

from __future__ import annotations

from typing import Any

from django.core.handlers.asgi import ASGIHandler


class OneThreadASGIHandler(ASGIHandler):
    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        # No ThreadSensitiveContext: sync_to_async(thread_sensitive=True) then uses one thread per process.
        await self.handle(scope, receive, send)
