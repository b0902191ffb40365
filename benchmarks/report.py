"""Results of the scenarios, the machine they ran on, and the two files the benchmark writes:
docs/benchmarks.md (for people) and docs/benchmarks.json (for tools and the next comparison)."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import re
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.loadgen import Timings, percentile

ROOT = Path(__file__).resolve().parents[1]
QUICK_NOTE = " (quick mode: a smoke run, not a measurement)"


@dataclass
class Row:
    """One measured case of a scenario."""

    case: str
    operations: int
    seconds: float
    unit: str = "ops/s"
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    sql_per_op: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return round(self.operations / self.seconds, 1) if self.seconds > 0 else 0.0

    @classmethod
    def from_timings(cls, case: str, timings: Timings, *, ok_status: int = 200, unit: str = "ops/s") -> Row:
        ms = [value * 1000 for value in timings.latencies]

        def p(share: float) -> float | None:
            value = percentile(ms, share)
            return round(value, 1) if value is not None else None

        extra: dict[str, Any] = {}
        failed = {str(k): v for k, v in timings.statuses.items() if k != ok_status}
        if failed or timings.errors:
            extra["not_ok"] = {**failed, **dict(timings.errors)}
        return cls(
            case=case,
            operations=timings.ok(ok_status),
            seconds=round(timings.elapsed, 3),
            unit=unit,
            p50_ms=p(0.50),
            p95_ms=p(0.95),
            p99_ms=p(0.99),
            extra=extra,
        )


@dataclass
class Target:
    what: str
    target: str
    measured: str
    met: bool
    note: str = ""


@dataclass
class ScenarioResult:
    name: str
    title: str
    rows: list[Row] = field(default_factory=list)
    checks: dict[str, Any] = field(default_factory=dict)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str = ""

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for row, row_data in zip(self.rows, data["rows"], strict=True):
            row_data["rate"] = row.rate
        return data


def _run(args: list[str]) -> str:
    try:
        return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=10, check=False).stdout.strip()  # noqa: S603 (our own interpreter and arguments)
    except OSError:
        return ""


def machine() -> dict[str, Any]:
    from django.db import connection

    memory_kb = 0
    cpu_model = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_kb = int(line.split()[1])
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    database = connection.vendor
    database_settings = ""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            database = f"PostgreSQL {cursor.fetchone()[0]}"
            # The settings the bulk figures depend on (WAL volume of a 1M-row UPDATE, cache size).
            cursor.execute(
                "SELECT name, setting, unit FROM pg_settings WHERE name IN "
                "('shared_buffers', 'max_wal_size', 'wal_compression', 'synchronous_commit') ORDER BY name"
            )
            database_settings = ", ".join(_pg_setting(*row) for row in cursor.fetchall())
    redis_version = ""
    try:
        from django.conf import settings
        from redis import Redis

        if settings.REDIS_URL:
            redis_version = str(Redis.from_url(settings.REDIS_URL).info("server").get("redis_version", ""))
    except Exception:  # the report still says what it can
        redis_version = "unknown"
    return {
        "cores": os.cpu_count(),
        "cpu": cpu_model,
        "memory_gb": round(memory_kb / 1024 / 1024, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "database": database,
        "database_settings": database_settings,
        "redis": redis_version,
    }


def _pg_setting(name: str, setting: str, unit: str | None) -> str:
    """`shared_buffers 2 GB` from pg_settings' (name, setting, unit): units like 8kB or MB multiply."""
    if unit and setting.isdigit():
        number, base = re.fullmatch(r"(\d*)(\w+)", unit).groups()  # type: ignore[union-attr]
        size = int(setting) * int(number or 1) * {"kB": 1024, "MB": 1024**2, "GB": 1024**3}.get(base, 1)
        for suffix, scale in (("GB", 1024**3), ("MB", 1024**2)):
            if size >= scale and base in {"kB", "MB", "GB"}:
                return f"{name} {size / scale:g} {suffix}"
        return f"{name} {setting} {unit}"
    return f"{name} {setting}"


def git_commit() -> str:
    commit = _run(["git", "rev-parse", "--short", "HEAD"])
    dirty = _run(["git", "status", "--porcelain", "--untracked-files=no"])
    return f"{commit}{' (with uncommitted changes)' if dirty else ''}" if commit else "unknown"


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.1f}" if value >= 10 else f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def markdown(results: list[ScenarioResult], meta: dict[str, Any]) -> str:
    m = meta["machine"]
    lines = [
        "# Benchmarks",
        "",
        "Written by `manage.py bench` (see *How to run* below); do not edit by hand.",
        "",
        f"- **Date:** {meta['date']}  ",
        f"- **Commit:** {meta['commit']}  ",
        f"- **Command:** `{meta['command']}`{QUICK_NOTE if meta['quick'] else ''}  ",
        f"- **Machine:** {m['cores']} cores ({m['cpu'] or 'unknown CPU'}), {m['memory_gb']} GB RAM, {m['os']}  ",
        f"- **Software:** Python {m['python']}, {m['database']}, Redis {m['redis']}; everything on the same cores "
        "(server, workers, PostgreSQL, Redis, simulator and the load generator)  ",
        f"- **PostgreSQL settings:** {m.get('database_settings') or 'not read'}  ",
        f"- **SQL counted by:** {meta['sql_counter']}  ",
        f"- **Load average at the end** (1, 5, 15 min): {', '.join(map(str, meta.get('load_average_at_end', [])))}",
        "",
        "## Targets",
        "",
        "| scenario | what | target | measured | met? |",
        "|---|---|---|---|---|",
    ]
    for result in results:
        for target in result.targets:
            verdict = "yes" if target.met else f"**no** {target.note}".rstrip()
            lines.append(f"| {result.name} | {target.what} | {target.target} | {target.measured} | {verdict} |")
    lines += _ceilings(results, cores=m["cores"] or 1)
    for result in results:
        lines += ["", f"## {result.title}", ""]
        if result.error:
            lines += [f"**Failed:** {result.error}", ""]
        if result.rows:
            lines += [
                "| case | operations | seconds | rate | p50 ms | p95 ms | p99 ms | SQL per op | other |",
                "|---|---|---|---|---|---|---|---|---|",
            ]
            for row in result.rows:
                other = ", ".join(f"{k}: {_fmt(v)}" for k, v in row.extra.items() if not isinstance(v, list | dict))
                other += "".join(f"; {k}: {json.dumps(v)}" for k, v in row.extra.items() if isinstance(v, dict))
                lines.append(
                    f"| {row.case} | {_fmt(row.operations)} | {_fmt(row.seconds)} | {_fmt(row.rate)} {row.unit} | "
                    f"{_fmt(row.p50_ms)} | {_fmt(row.p95_ms)} | {_fmt(row.p99_ms)} | {_fmt(row.sql_per_op)} | {other} |"
                )
            lines.append("")
        if result.checks:
            lines += ["Checks: " + ", ".join(f"{k} = {_fmt(v)}" for k, v in result.checks.items()), ""]
        for note in result.notes:
            lines.append(f"- {note}")
        breakdowns = [(row.case, row.extra["sql"]) for row in result.rows if row.extra.get("sql")]
        if breakdowns:
            case, statements = breakdowns[-1]
            lines += ["", f"<details><summary>Statements per operation ({case})</summary>", ""]
            lines += [f"- {s['per_operation']} × `{s['sql']}`" for s in statements]
            lines += ["", "</details>"]
    lines += ["", METHOD]
    return "\n".join(lines)


CPU_PARTS = ("server CPU ms/op", "PostgreSQL CPU ms/op", "simulator CPU ms/op")


def _ceilings(results: list[ScenarioResult], *, cores: int) -> list[str]:
    """What limits the rates: the CPU each operation costs, and the rate that allows at most.

    On one machine running everything, a rate cannot pass (cores × 1000) ÷ (CPU ms per operation of
    every process involved): past it, the cores are full. A missed rate target whose ceiling is
    below the target is limited by that CPU, and the table says where the milliseconds go.
    """
    rows = [
        (result.name, row, [row.extra.get(part) for part in CPU_PARTS])
        for result in results
        for row in result.rows
        if row.extra.get("server CPU ms/op") and row.extra.get("PostgreSQL CPU ms/op")
    ]
    if not rows:
        return []
    lines = [
        "",
        "## What limits the rates: CPU per operation",
        "",
        f"Everything shares {cores} cores, so no rate can pass {cores} × 1000 ms ÷ the CPU one operation "
        "costs in every process (web and workers, PostgreSQL, the simulator standing in for Twilio). "
        "Where a rate target is missed and its ceiling is below the target, CPU per operation is what "
        "limits it; where the measured rate is well under its ceiling, waiting (locks, round trips, the "
        "load generator's closed loop) is.",
        "",
        "| scenario | case | rate | server ms | PostgreSQL ms | simulator ms | ceiling on these cores |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, row, (server, database, simulator) in rows:
        total = float(server or 0) + float(database or 0) + float(simulator or 0)
        ceiling = cores * 1000 / total if total else 0.0
        lines.append(
            f"| {name} | {row.case} | {_fmt(row.rate)} {row.unit} | {_fmt(server)} | {_fmt(database)} | "
            f"{_fmt(simulator)} | {_fmt(round(ceiling, 1))} {row.unit} |"
        )
    return lines


METHOD = """## How these figures are made

```sh
export DATABASE_URL=postgres://postgres@127.0.0.1:5432/spoke REDIS_URL=redis://127.0.0.1:6379/0
make bench          # every scenario at full size (about 15 minutes on 2 cores); writes this file
make bench-quick    # each scenario tiny: a smoke run, not a measurement (report in a temporary folder)
.venv/bin/python manage.py bench --help    # --only SCENARIO, sizes, durations, --redis-db
```

- The bench recreates its own PostgreSQL database (`--database`, default `spoke_bench`) on the server
  DATABASE_URL names, and uses its own Redis database (`--redis-db`, default 15, refused if it holds
  keys that are not the bench's). It never touches the database DATABASE_URL names.
- Servers are the production ones: `uvicorn spoke.asgi:application --workers N` (one process per core),
  `manage.py rqworker --with-scheduler sends`, `manage.py twilio_simulator`, all on loopback, with
  `DEBUG=false`. The organization's send rate is raised (100,000/s) and texting hours are off.
- The load generator is this process: asyncio streams on keep-alive connections, every request's bytes
  built before the clock starts, one coroutine per texter (no HTTP client library: it would cost more
  CPU than the server's own parsing). Its share of the CPU used during each run is reported.
- **1. sends**: N texters, each with a logged-in session (made through the configured session engine)
  and its own connection, each click to a different contact (`POST /texter/contacts/<id>/send/` with the
  CSRF cookie and header, as the page sends it), closed loop; no workers run, so this is the request path.
- **2. pipeline**: texters click at a fixed offered rate; RQ workers drain the outbox to the simulator,
  whose signed status callbacks mark messages delivered. Sustained = delivered per second while clicks
  were offered; the count check compares clicks answered 200, messages stored, messages the simulator
  accepted (its own `/stats`, per number) and messages delivered in the database.
- **3. inbound**: replies signed with the twilio SDK's RequestValidator, 50 connections; then one
  websocket per texter (`/ws/texter/`) and replies at a steady rate, timed from the webhook request
  to the `reply_received` event on the right socket.
- **4. bulk**: the public services (`contacts_import_file`, `contacts_split_evenly`, `export_run`), each
  in a child process that reports its time and peak RSS (`getrusage`).
- **5. scaleout**: the pipeline with one ASGI process and one worker, then two of each.
- **SQL per operation**: pg_stat_statements (reset for the bench database before each run) counts every
  statement the servers ran, divided by the requests; transaction control is not counted, nor are the
  foreign-key checks PostgreSQL's own triggers run (listed apart). Without pg_stat_statements
  (`shared_preload_libraries`), statements are counted in-process on sample requests and the header says so.
- **CPU per operation** (server processes by kind, PostgreSQL backends) comes from /proc: unlike rates,
  it does not depend on what else the machine was running.
"""


def write(results: list[ScenarioResult], meta: dict[str, Any], *, directory: Path) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    md_path, json_path = directory / "benchmarks.md", directory / "benchmarks.json"
    md_path.write_text(markdown(results, meta))
    json_path.write_text(json.dumps({"meta": meta, "scenarios": [r.as_dict() for r in results]}, indent=2) + "\n")
    return md_path, json_path


def meta_for(*, command: str, quick: bool, sql_counter: str) -> dict[str, Any]:
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": git_commit(),
        "command": command,
        "quick": quick,
        "sql_counter": sql_counter,
        "machine": machine(),
        # Others using the cores while the bench runs lower every rate (not the CPU per operation).
        "load_average_at_end": [round(value, 2) for value in os.getloadavg()],
    }
