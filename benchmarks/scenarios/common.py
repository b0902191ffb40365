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
from benchmarks.environment import Processes, machine_busy_seconds, postgres_cpu_seconds, tree_cpu_seconds
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
    servers_cpu: float = 0.0  # CPU seconds of the processes the scenario started (web, workers, simulator)
    postgres_cpu: float = 0.0  # CPU seconds of the PostgreSQL backends of the benchmark database
    by_kind: dict[str, float] | None = None  # CPU seconds per kind of process (web, worker, simulator)

    def cpu_ms_per(self, operations: int) -> dict[str, float | None]:
        """CPU per operation: unlike throughput, it does not depend on what else the machine runs."""
        if not operations:
            return {}
        figures: dict[str, float | None] = {
            "server CPU ms/op": round(self.servers_cpu * 1000 / operations, 2),
            "PostgreSQL CPU ms/op": round(self.postgres_cpu * 1000 / operations, 2),
        }
        if self.by_kind and len(self.by_kind) > 1:
            figures.update(
                {f"{kind} CPU ms/op": round(cpu * 1000 / operations, 2) for kind, cpu in self.by_kind.items()}
            )
        return figures

    @property
    def loadgen_share(self) -> float | None:
        return round(self.loadgen_cpu / self.machine_busy, 3) if self.machine_busy > 0 else None


def measured(bench: Bench, run: Callable[[], Coroutine[Any, Any, T]], processes: Processes | None = None) -> Measured:
    """Run the load (an asyncio coroutine) and say what SQL the servers ran and what CPU it took."""
    if bench.sql_available:
        sqlstats.reset()
    kinds = processes.groups() if processes else {}
    pids = [pid for group in kinds.values() for pid in group]
    cpu0, busy0 = cpu_seconds(), machine_busy_seconds()
    servers0, pg0 = tree_cpu_seconds(pids), postgres_cpu_seconds()
    kinds0 = {kind: tree_cpu_seconds(group) for kind, group in kinds.items()}
    value = asyncio.run(run())
    kinds1 = {kind: tree_cpu_seconds(group) for kind, group in kinds.items()}
    servers1, pg1 = tree_cpu_seconds(pids), postgres_cpu_seconds()
    cpu1, busy1 = cpu_seconds(), machine_busy_seconds()
    statements = sqlstats.read() if bench.sql_available else None
    return Measured(
        value=value,
        statements=statements,
        loadgen_cpu=cpu1 - cpu0,
        machine_busy=busy1 - busy0,
        servers_cpu=servers1 - servers0,
        postgres_cpu=max(pg1 - pg0, 0.0),
        by_kind={kind: kinds1[kind] - kinds0[kind] for kind in kinds},
    )


def count_in_process(request: Callable[[Client], Any]) -> int:
    """Statements one request runs, through the Django test client in this process (the fallback
    when pg_stat_statements is unavailable; the same views and middleware, not the same server)."""
    client = Client()
    with CaptureQueriesContext(connection) as context:
        request(client)
    return len([q for q in context.captured_queries if not q["sql"].upper().startswith(TRANSACTION_CONTROL)])
