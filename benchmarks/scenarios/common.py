"""Pieces the scenarios share: prepared requests, and measuring a run's SQL and CPU."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils.crypto import get_random_string

from benchmarks import sqlstats
from benchmarks.context import Bench, cpu_seconds
from benchmarks.environment import machine_busy_seconds
from benchmarks.loadgen import http_request

T = TypeVar("T")
TRANSACTION_CONTROL = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT", "BEGIN", "COMMIT", "ROLLBACK")


def send_path(contact_id: int) -> str:
    return f"/texter/contacts/{contact_id}/send/"


def send_body() -> bytes:
    return json.dumps({"send_key": str(uuid.uuid4()), "first_message": True, "body": ""}).encode()


def send_request(*, host: str, contact_id: int, session: str) -> bytes:
    """A texter's click on Send, as their page makes it: session cookie, CSRF cookie and header."""
    csrf = get_random_string(32)
    return http_request(
        "POST",
        send_path(contact_id),
        host=host,
        headers={
            "Cookie": f"{settings.SESSION_COOKIE_NAME}={session}; {settings.CSRF_COOKIE_NAME}={csrf}",
            "X-CSRFToken": csrf,
            "Content-Type": "application/json",
        },
        body=send_body(),
    )


@dataclass
class Measured:
    value: Any
    statements: sqlstats.StatementCount | None
    loadgen_cpu: float  # CPU seconds this process (the load generator) used
    machine_busy: float  # CPU seconds all cores were busy, every process included

    @property
    def loadgen_share(self) -> float | None:
        return round(self.loadgen_cpu / self.machine_busy, 3) if self.machine_busy > 0 else None


def measured(bench: Bench, run: Callable[[], Coroutine[Any, Any, T]]) -> Measured:
    """Run the load (an asyncio coroutine) and say what SQL the servers ran and what CPU it took."""
    if bench.sql_available:
        sqlstats.reset()
    cpu0, busy0 = cpu_seconds(), machine_busy_seconds()
    value = asyncio.run(run())
    cpu1, busy1 = cpu_seconds(), machine_busy_seconds()
    statements = sqlstats.read() if bench.sql_available else None
    return Measured(value=value, statements=statements, loadgen_cpu=cpu1 - cpu0, machine_busy=busy1 - busy0)


def count_in_process(request: Callable[[Client], Any]) -> int:
    """Statements one request runs, through the Django test client in this process (the fallback
    when pg_stat_statements is unavailable; the same views and middleware, not the same server)."""
    client = Client()
    with CaptureQueriesContext(connection) as context:
        request(client)
    return len([q for q in context.captured_queries if not q["sql"].upper().startswith(TRANSACTION_CONTROL)])
