"""The benchmark suite's smoke test: it times nothing, it checks that the bench works and counts right.

On PostgreSQL with Redis (CI, or DATABASE_URL + REDIS_URL) it runs the quick form of the
scenarios against the test database with real uvicorn, RQ worker and simulator processes and
checks the invariants: every message delivered exactly once, statements counted, every reply
stored and pushed to its texter's socket, the bulk steps done. On SQLite the bench refuses to
run (it needs PostgreSQL), and the tests check the parts that do not need it: the load generator
against a real socket server, the percentile, and the report writer.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from pytest_django.fixtures import Settings as SettingsWrapper
from redis import Redis

from benchmarks.context import Bench, Sizes
from benchmarks.environment import BenchSetupError, bench_database_url, bench_redis_url
from benchmarks.loadgen import closed_loop, http_request, percentile
from benchmarks.report import Row, ScenarioResult, Target, meta_for, write
from benchmarks.runner import bench_run
from campaigns.models import Contact
from texting.tests.conftest import clean_redis


def _on_postgres_and_redis() -> bool:
    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        return False
    try:
        return bool(Redis.from_url(settings.REDIS_URL).ping())
    except Exception:
        return False


@pytest.fixture
def clean_bench_redis(settings: SettingsWrapper) -> Iterator[None]:
    if settings.REDIS_URL:
        settings.JOBS_SYNC = False
        client = Redis.from_url(settings.REDIS_URL)
        clean_redis(client)
        yield
        clean_redis(client)
    else:
        yield


@pytest.mark.django_db(transaction=True)
def test_the_quick_bench_runs_every_scenario_and_its_counts_hold(tmp_path: Path, clean_bench_redis: None) -> None:
    if not _on_postgres_and_redis():
        # SQLite: the command says what it needs instead of running on the wrong database.
        with pytest.raises(CommandError, match="PostgreSQL and Redis"):
            call_command("bench", "--quick")
        return
    bench = Bench.from_settings(sizes=Sizes.quick(), logs=tmp_path / "logs", port_base=0, quick=True)
    results, md_path, json_path = bench_run(
        bench, only=["sends", "pipeline", "inbound", "bulk"], output=tmp_path, command="test", say=lambda _: None
    )
    by_name = {result.name: result for result in results}
    assert {name: result.error for name, result in by_name.items()} == dict.fromkeys(by_name, "")

    sends = by_name["sends"]
    assert len(sends.rows) == len(Sizes.quick().send_levels) * len(Sizes.quick().send_campaigns)
    for row in sends.rows:
        assert row.operations > 0 and row.extra["messages stored"] == row.operations
        assert not row.extra.get("not_ok"), row.extra
        # The send path's statements were counted (by pg_stat_statements, or in-process without it).
        assert row.sql_per_op is not None and row.sql_per_op >= 3

    pipeline = by_name["pipeline"]
    checks = pipeline.checks
    assert checks["exactly once"] is True, checks
    assert checks["clicks answered 200"] > 0
    assert checks["clicks answered 200"] == checks["accepted by the simulator"] == checks["delivered in the database"]
    assert checks["sent twice to one number"] == 0 and checks["simulator duplicates"] == 0
    assert checks["not delivered"] == {}

    inbound = by_name["inbound"]
    assert inbound.checks["replies answered 200 = stored"] is True
    assert inbound.checks["every reply reached its texter's socket"] is True
    assert inbound.rows[0].operations > 0 and inbound.rows[0].sql_per_op is not None

    bulk = by_name["bulk"]
    # 2,000 rows: every 500th repeats the row before it, every 1,000th has a cell that is not a number.
    assert bulk.checks["contacts in the campaign"] == 2000 - 4 - 2
    assert bulk.checks["contacts assigned"] == bulk.checks["contacts in the campaign"]
    assert [row.extra.get("status") for row in bulk.rows] == ["done", None, "done"]
    assert all(row.extra["peak RSS MB"] > 0 for row in bulk.rows)

    report = json.loads(json_path.read_text())
    assert [s["name"] for s in report["scenarios"]] == ["sends", "pipeline", "inbound", "bulk"]
    assert report["meta"]["quick"] is True and report["meta"]["machine"]["database"].startswith("PostgreSQL")
    assert "## 2. End to end" in md_path.read_text()
    assert Contact.objects.exists()


async def _tiny_server(port_holder: list[int], served: list[str]) -> asyncio.AbstractServer:
    """An HTTP/1.1 keep-alive server answering by Content-Length, or chunked for /chunked."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                break
            path = head.split(b" ")[1].decode()
            length = next(
                (
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                ),
                0,
            )
            await reader.readexactly(length)
            served.append(path)
            if path == "/chunked":
                writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
            else:
                status = b"404 Not Found" if path == "/missing" else b"200 OK"
                writer.write(b"HTTP/1.1 " + status + b"\r\nContent-Length: 2\r\n\r\nok")
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port_holder.append(server.sockets[0].getsockname()[1])
    return server


def test_the_load_generator_sends_every_request_on_keep_alive_connections_and_times_them() -> None:
    served: list[str] = []

    async def scenario() -> tuple[int, object]:
        ports: list[int] = []
        server = await _tiny_server(ports, served)
        host = f"127.0.0.1:{ports[0]}"
        per_user = [[http_request("POST", f"/u{u}/{i}", host=host, body=b"x" * i) for i in range(5)] for u in range(3)]
        per_user.append([http_request("GET", "/chunked", host=host), http_request("GET", "/missing", host=host)])
        timings = await closed_loop("127.0.0.1", ports[0], per_user, duration=30)
        server.close()
        await server.wait_closed()
        return ports[0], timings

    _port, timings = asyncio.run(scenario())
    assert sorted(served) == sorted([f"/u{u}/{i}" for u in range(3) for i in range(5)] + ["/chunked", "/missing"])
    assert timings.statuses == {200: 16, 404: 1}  # type: ignore[attr-defined]
    assert len(timings.latencies) == 17 and not timings.errors  # type: ignore[attr-defined]


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 0.5), percentile(values, 0.95), percentile(values, 0.99)) == (50.0, 95.0, 99.0)
    assert percentile([], 0.99) is None


@pytest.mark.django_db  # the report names the database server's version
def test_the_report_says_which_targets_are_missed_and_by_how_much(tmp_path: Path) -> None:
    result = ScenarioResult(name="sends", title="1. Texter sends")
    result.rows.append(
        Row(
            case="20,000 contacts, 50 texters",
            operations=1500,
            seconds=5.0,
            unit="sends/s",
            p99_ms=180.0,
            sql_per_op=4.0,
            extra={"server CPU ms/op": 3.0, "PostgreSQL CPU ms/op": 1.0},
        )
    )
    result.targets.append(Target("sends/s at 50 texters", "≥ 500", "300", False, "(-40%)"))
    result.targets.append(Target("SQL statements per send request", "≤ 4", "4", True))
    md_path, json_path = write(
        [result], meta_for(command="manage.py bench", quick=False, sql_counter="test"), directory=tmp_path
    )
    text = md_path.read_text()
    assert "| sends | sends/s at 50 texters | ≥ 500 | 300 | **no** (-40%) |" in text
    assert "| sends | SQL statements per send request | ≤ 4 | 4 | yes |" in text
    assert "| 20,000 contacts, 50 texters | 1,500 | 5.00 | 300.0 sends/s | – | – | 180.0 | 4.00 |" in text
    # What limits it: 4 ms of CPU per send on N cores allows at most N × 1000 / 4 sends/s.
    meta = json.loads(json_path.read_text())["meta"]
    ceiling = meta["machine"]["cores"] * 1000 / 4
    assert f"| sends | 20,000 contacts, 50 texters | 300.0 sends/s | 3.00 | 1.00 | – | {ceiling:,.1f} sends/s |" in text
    data = json.loads(json_path.read_text())
    assert data["scenarios"][0]["rows"][0]["rate"] == 300.0
    assert data["meta"]["machine"]["cores"] >= 1 and data["meta"]["command"] == "manage.py bench"


def test_the_bench_never_takes_the_developers_database_or_a_foreign_redis_url() -> None:
    url = bench_database_url("postgres://postgres@127.0.0.1:5432/spoke", "spoke_bench")
    assert url == "postgres://postgres@127.0.0.1:5432/spoke_bench"
    with pytest.raises(BenchSetupError, match="would drop and recreate"):
        bench_database_url("postgres://postgres@127.0.0.1:5432/spoke_bench", "spoke_bench")
    with pytest.raises(BenchSetupError, match="runs on PostgreSQL"):
        bench_database_url("sqlite:///db.sqlite3", "spoke_bench")
    assert bench_redis_url("redis://127.0.0.1:6379/0", 15) == "redis://127.0.0.1:6379/15"
