"""The benchmark's own database, Redis database and processes (ASGI server, RQ workers, simulator).

`manage.py bench` never touches the developer's data: it recreates a dedicated PostgreSQL
database (`spoke_bench` by default) on the server DATABASE_URL names, and uses a Redis database
that is empty or was the benchmark's before (it leaves a marker key in it).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2
from redis import Redis

ROOT = Path(__file__).resolve().parents[1]
REDIS_MARKER = "spoke-bench:owner"
ACCOUNT_SID = "AC" + "b" * 32
AUTH_TOKEN = "benchmark-auth-token-0123456789ab"  # noqa: S105 (the simulator's, on loopback)
MESSAGING_SERVICE = "MG" + "b" * 32


class BenchSetupError(Exception):
    """Something the person running the benchmark must fix; the message says what."""


def bench_database_url(database_url: str, name: str) -> str:
    parts = urllib.parse.urlsplit(database_url)
    if parts.scheme not in {"postgres", "postgresql", "pgsql"}:
        raise BenchSetupError(f"The benchmark runs on PostgreSQL: DATABASE_URL is {parts.scheme}://…, not postgres://…")
    current = parts.path.lstrip("/")
    if current == name:
        raise BenchSetupError(
            f"DATABASE_URL names the database {name!r}, which the benchmark would drop and recreate: "
            "point DATABASE_URL at your own database and pick another --database for the benchmark."
        )
    return urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))


def bench_redis_url(redis_url: str, db: int) -> str:
    parts = urllib.parse.urlsplit(redis_url)
    if parts.scheme not in {"redis", "rediss"}:
        raise BenchSetupError(f"REDIS_URL must be redis://…, not {redis_url!r}")
    return urllib.parse.urlunsplit(parts._replace(path=f"/{db}"))


def database_recreate(url: str) -> None:
    """Drop and create the benchmark database (connecting to the server's `postgres` database)."""
    parts = urllib.parse.urlsplit(url)
    name = parts.path.lstrip("/")
    admin_url = urllib.parse.urlunsplit(parts._replace(path="/postgres"))
    try:
        connection = psycopg2.connect(admin_url)
    except psycopg2.Error as exc:
        raise BenchSetupError(f"Cannot reach PostgreSQL at {parts.hostname}:{parts.port or 5432}: {exc}") from exc
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [name],
        )
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')
    connection.close()


def redis_claim(url: str) -> None:
    """Empty the benchmark's Redis database, refusing one that holds someone else's keys."""
    client = Redis.from_url(url)
    try:
        size = client.dbsize()
    except Exception as exc:
        raise BenchSetupError(f"Cannot reach Redis at {url}: {exc}") from exc
    if size and not client.exists(REDIS_MARKER):
        raise BenchSetupError(
            f"Redis database {url.rsplit('/', 1)[-1]} holds {size} keys that are not the benchmark's: "
            "pick an empty one with --redis-db."
        )
    client.flushdb()
    client.set(REDIS_MARKER, "spoke manage.py bench")


def free_port(preferred: int = 0) -> int:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", preferred))
        except OSError:
            probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_http(url: str, process: subprocess.Popen[bytes], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchSetupError(f"{what} exited with status {process.returncode} while starting")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 (loopback)
                return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.2)
    raise BenchSetupError(f"{what} did not answer at {url} within {timeout:.0f} s")


@dataclass
class Processes:
    """Processes the benchmark starts; stopped (and their logs kept) by `stop`."""

    env: dict[str, str]
    logs: Path
    running: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)

    def _start(self, name: str, args: list[str], extra_env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}.log").open("ab")
        process = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
            args, cwd=ROOT, env={**self.env, **(extra_env or {})}, stdout=log, stderr=subprocess.STDOUT
        )
        self.running.append((name, process))
        return process

    def server(self, port: int, *, workers: int) -> subprocess.Popen[bytes]:
        """uvicorn with `workers` processes on one socket, as in production (uvloop, httptools)."""
        process = self._start(
            f"web-{port}",
            [
                sys.executable, "-m", "uvicorn", "spoke.asgi:application",
                "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
                "--no-access-log", "--log-level", "warning", "--backlog", "4096",
            ],
        )  # fmt: skip
        _wait_http(f"http://127.0.0.1:{port}/accounts/login/", process, "The ASGI server")
        return process

    def workers(self, count: int) -> None:
        for i in range(count):
            self._start(f"worker-{i}", [sys.executable, "manage.py", "rqworker", "--with-scheduler", "sends"])

    def simulator(self, port: int, *, inbound_url: str) -> str:
        process = self._start(
            f"simulator-{port}",
            [
                sys.executable, "manage.py", "twilio_simulator", "--port", str(port),
                "--account-sid", ACCOUNT_SID, "--auth-token", AUTH_TOKEN, "--inbound-url", inbound_url,
            ],
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        _wait_http(f"{url}/stats", process, "The Twilio simulator")
        return url

    def pids(self) -> list[int]:
        return [process.pid for _name, process in self.running if process.poll() is None]

    def groups(self) -> dict[str, list[int]]:
        """Running processes by kind (web, worker, simulator)."""
        kinds: dict[str, list[int]] = {}
        for name, process in self.running:
            if process.poll() is None:
                kinds.setdefault(name.split("-")[0], []).append(process.pid)
        return kinds

    def stop(self) -> None:
        for _name, process in self.running:
            if process.poll() is None:
                process.terminate()
        for _name, process in self.running:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.running.clear()

    def log_tail(self, chars: int = 2000) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-chars:]}" for path in sorted(self.logs.glob("*.log"))
        )


def machine_busy_seconds() -> float:
    """CPU seconds every core spent busy since boot (from /proc/stat), to share out CPU use."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return 0.0
    ticks = [int(value) for value in fields]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process and its reaped children have used, from
    /proc/<pid>/stat (an RQ worker forks a child per job); 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(child) for child in task.read_text().split()]
        except OSError:
            continue
    return found


def tree_cpu_seconds(pids: list[int]) -> float:
    """CPU seconds used by these processes and all their descendants (uvicorn's worker processes)."""
    total, todo, seen = 0.0, list(pids), set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        total += _proc_cpu(pid)
        todo += _children(pid)
    return total


def postgres_cpu_seconds() -> float:
    """CPU seconds used so far by the PostgreSQL backends serving this database (readable when
    PostgreSQL runs on this machine, as in the benchmark)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return 0.0
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return sum(_proc_cpu(int(pid)) for (pid,) in cursor.fetchall())
