"""What every scenario needs: sizes, the environment of the processes it starts, the texters
and their sessions, and a way to run a step in a child process (for its own peak memory)."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection

from accounts.models import Organization, User
from benchmarks import data, environment, sqlstats
from benchmarks.environment import ACCOUNT_SID, AUTH_TOKEN, MESSAGING_SERVICE, Processes


@dataclass
class Sizes:
    """Everything that makes a run long or short; `quick()` is the smoke-test size."""

    send_levels: tuple[int, ...] = (1, 10, 50, 1000)
    send_campaigns: tuple[int, ...] = (20_000, 100_000)
    send_seconds: float = 8.0
    sends_per_level: int = 4000
    pipeline_seconds: float = 60.0
    pipeline_rate: int = 250
    pipeline_texters: int = 50
    inbound_replies: int = 6000
    inbound_seconds: float = 8.0
    sockets: int = 1000
    socket_replies: int = 1000
    socket_rate: int = 100
    bulk_rows: int = 1_000_000
    bulk_texters: int = 1000
    bulk_timeout: float = 240.0
    scaleout_seconds: float = 20.0
    scaleout_rate: int = 600
    web_processes: int = field(default_factory=lambda: os.cpu_count() or 1)
    rq_workers: int = 2

    @classmethod
    def quick(cls) -> Sizes:
        return cls(
            send_levels=(1, 5),
            send_campaigns=(300, 1000),
            send_seconds=3.0,
            sends_per_level=40,
            pipeline_seconds=3.0,
            pipeline_rate=20,
            pipeline_texters=5,
            inbound_replies=40,
            inbound_seconds=3.0,
            sockets=10,
            socket_replies=10,
            socket_rate=20,
            bulk_rows=2000,
            bulk_texters=10,
            bulk_timeout=120.0,
            scaleout_seconds=2.0,
            scaleout_rate=20,
            web_processes=1,
            rq_workers=1,
        )

    @property
    def texters_needed(self) -> int:
        return max([*self.send_levels, self.pipeline_texters, self.sockets, self.bulk_texters, 50])


class StepFailed(Exception):
    pass


@dataclass
class Bench:
    sizes: Sizes
    logs: Path
    database_url: str
    redis_url: str
    port_base: int
    quick: bool = False
    sql_counter: str = ""
    sql_available: bool = False
    organization: Organization | None = None
    texters: list[User] = field(default_factory=list)
    cookies: dict[int, str] = field(default_factory=dict)
    _next_port: int = 0
    _cell_base: int = 3_125_000_000

    @classmethod
    def from_settings(cls, *, sizes: Sizes, logs: Path, port_base: int, quick: bool) -> Bench:
        db = connection.settings_dict
        auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
        url = f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        return cls(
            sizes=sizes, logs=logs, database_url=url, redis_url=settings.REDIS_URL, port_base=port_base, quick=quick
        )

    def setup(self) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        self.sql_available, reason = sqlstats.available()
        self.sql_counter = (
            "pg_stat_statements (every statement the server processes ran in the benchmark database, "
            "transaction control not counted)"
            if self.sql_available
            else f"{reason}; statements counted in-process with Django's query log on sample requests instead"
        )
        self.organization = data.organization_create()
        self.texters = data.texters_create(organization=self.organization, count=self.sizes.texters_needed)
        answer = self.child("sessions", {"users": [t.pk for t in self.texters]})
        self.cookies = {int(k): v for k, v in answer["result"].items()}

    def port(self) -> int:
        port = environment.free_port(self.port_base + self._next_port if self.port_base else 0)
        self._next_port += 1
        return port

    def cell_base(self, count: int) -> int:
        base = self._cell_base
        self._cell_base += count + 1000
        return base

    def env(self, *, public_base_url: str = "", api_base_url: str = "") -> dict[str, str]:
        """The environment of every process the benchmark starts."""
        return {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "DEBUG": "false",
            "LOG_LEVEL": "WARNING",
            "SMS_BACKEND": "twilio",
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "TWILIO_MESSAGING_SERVICE_SID": MESSAGING_SERVICE,
            "TWILIO_API_BASE_URL": api_base_url,
            "PUBLIC_BASE_URL": public_base_url or "http://127.0.0.1:8000",
            # The benchmark measures the pipeline, not the rate limiter (the organization's is 100,000/s too).
            "SEND_RATE_PER_SECOND": "0",
            "SEND_RETRY_BASE_SECONDS": "1",
            "SEND_RETRY_MAX_SECONDS": "2",
            "SEND_MAX_ATTEMPTS": "20",
            "PYTHONUNBUFFERED": "1",
        }

    def processes(self, **env: str) -> Processes:
        return Processes(env=self.env(**env), logs=self.logs)

    def child(self, step: str, arguments: dict[str, Any], *, timeout: float = 600) -> dict[str, Any]:
        """Run `python -m benchmarks.child STEP` with the benchmark's environment; its JSON answer."""
        started = time.monotonic()
        try:
            completed = subprocess.run(  # noqa: S603 (our own interpreter and arguments)
                [sys.executable, "-m", "benchmarks.child", step, json.dumps(arguments)],
                cwd=environment.ROOT,
                env=self.env(),
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise StepFailed(f"{step} did not finish within {timeout:.0f} s") from exc
        if completed.returncode != 0:
            raise StepFailed(f"{step} failed (exit {completed.returncode}): {completed.stderr.strip()[-1500:]}")
        answer: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
        answer.setdefault("wall_seconds", round(time.monotonic() - started, 2))
        return answer


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
