from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from benchmarks import environment
from benchmarks.context import Bench, Sizes
from benchmarks.runner import SCENARIOS, bench_run

PREPARED = "SPOKE_BENCH_PREPARED"


class Command(BaseCommand):
    help = (
        "Run the benchmark suite on PostgreSQL and Redis: texter sends over HTTP, the whole send pipeline "
        "(RQ workers, the Twilio simulator, status callbacks), inbound replies and websockets, a 1M-contact "
        "import/assign/export, and scale-out. It recreates its own database (--database, default spoke_bench) "
        "on the server DATABASE_URL names and uses its own Redis database (--redis-db): your data is never "
        "touched. Writes docs/benchmarks.md and docs/benchmarks.json. --quick runs each scenario tiny (a smoke "
        "test, not a measurement)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--quick", action="store_true", help="Each scenario tiny: checks it works, times nothing.")
        parser.add_argument(
            "--only",
            default="",
            help=f"Comma-separated scenarios to run, from: {', '.join(SCENARIOS)}. Default: all of them.",
        )
        parser.add_argument("--database", default="spoke_bench", help="Benchmark database (dropped and recreated).")
        parser.add_argument(
            "--redis-db", type=int, default=15, help="Redis database number for the benchmark (emptied). Default 15."
        )
        parser.add_argument(
            "--output",
            default="",
            help="Folder for benchmarks.md and benchmarks.json (default: docs/, or a temporary folder with --quick, "
            "so a smoke run never replaces the published figures).",
        )
        parser.add_argument("--port-base", type=int, default=18200, help="First loopback port for the servers started.")
        parser.add_argument("--send-seconds", type=float, help="Seconds per texter-send level.")
        parser.add_argument("--send-campaigns", help="Contacts per send campaign, comma-separated (e.g. 20000,100000).")
        parser.add_argument(
            "--send-levels", help="Concurrent texters per send level, comma-separated (e.g. 1,10,50,1000)."
        )
        parser.add_argument(
            "--pipeline-seconds", type=float, help="Seconds of clicks end to end (at least 60 for the figure)."
        )
        parser.add_argument("--pipeline-rate", type=int, help="Clicks per second offered end to end.")
        parser.add_argument("--sockets", type=int, help="Texter websockets open during the reply latency test.")
        parser.add_argument("--bulk-rows", type=int, help="Contacts imported, assigned and exported.")
        parser.add_argument("--web-processes", type=int, help="uvicorn worker processes (default: one per core).")
        parser.add_argument("--workers", type=int, help="RQ worker processes end to end (default 2).")
        parser.add_argument("--prepared", action="store_true", help="(internal) run on an already prepared database.")

    def handle(self, *args: Any, **options: Any) -> None:
        only = [name.strip() for name in options["only"].split(",") if name.strip()] or list(SCENARIOS)
        unknown = [name for name in only if name not in SCENARIOS]
        if unknown:
            raise CommandError(f"Unknown scenario {', '.join(unknown)}: choose from {', '.join(SCENARIOS)}.")
        if options["prepared"]:
            self._run_prepared(only, options)
        else:
            self._prepare_and_run(options)

    def _prepare_and_run(self, options: dict[str, Any]) -> None:
        if not settings.DATABASE_URL or not settings.REDIS_URL:
            raise CommandError(
                "The benchmark runs on PostgreSQL and Redis: set DATABASE_URL (postgres://…) and REDIS_URL "
                "(redis://…). It creates its own database on that server and never touches yours."
            )
        try:
            database_url = environment.bench_database_url(settings.DATABASE_URL, options["database"])
            redis_url = environment.bench_redis_url(settings.REDIS_URL, options["redis_db"])
            if redis_url.rstrip("/") == settings.REDIS_URL.rstrip("/"):
                raise environment.BenchSetupError(
                    f"REDIS_URL already uses database {options['redis_db']}: pick another --redis-db for the benchmark."
                )
            self.stdout.write(
                f"Recreating the benchmark database {options['database']} and Redis db {options['redis_db']}…"
            )
            environment.database_recreate(database_url)
            environment.redis_claim(redis_url)
        except environment.BenchSetupError as exc:
            raise CommandError(str(exc)) from exc
        command = "manage.py bench " + shlex.join(sys.argv[2:])
        env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url, PREPARED: options["database"],
               "SPOKE_BENCH_COMMAND": command.strip(), "DEBUG": "false"}  # fmt: skip
        completed = subprocess.run(  # noqa: S603 (our own interpreter and arguments)
            [sys.executable, "manage.py", "bench", "--prepared", *sys.argv[2:]],
            cwd=environment.ROOT,
            env=env,
            check=False,
        )
        if completed.returncode != 0:
            raise CommandError(f"The benchmark failed (exit {completed.returncode}).")

    def _run_prepared(self, only: list[str], options: dict[str, Any]) -> None:
        name = connection.settings_dict["NAME"]
        if os.environ.get(PREPARED) != name:
            raise CommandError("--prepared is internal: run `manage.py bench` (it prepares its own database).")
        # Stopped with a signal, still stop the servers and workers it started (finally blocks).
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
        call_command("migrate", verbosity=0)
        sizes = sizes_from(options)
        logs = Path(tempfile.mkdtemp(prefix="spoke-bench-"))
        self.stdout.write(f"Process logs: {logs}")
        bench = Bench.from_settings(sizes=sizes, logs=logs, port_base=options["port_base"], quick=options["quick"])
        results, md_path, json_path = bench_run(
            bench,
            only=only,
            output=Path(
                options["output"] or (tempfile.mkdtemp(prefix="spoke-bench-quick-") if options["quick"] else "docs")
            ),
            command=os.environ.get("SPOKE_BENCH_COMMAND", "manage.py bench"),
            say=self._say,
        )
        self.stdout.write(f"Wrote {md_path} and {json_path}")
        failed = [r.name for r in results if r.error]
        if failed:
            raise CommandError(f"Scenarios failed: {', '.join(failed)} (see {md_path}).")

    def _say(self, text: str) -> None:
        self.stdout.write(text)
        self.stdout.flush()


def sizes_from(options: dict[str, Any]) -> Sizes:
    sizes = Sizes.quick() if options.get("quick") else Sizes()
    if options.get("send_seconds"):
        sizes.send_seconds = options["send_seconds"]
    if options.get("send_campaigns"):
        sizes.send_campaigns = tuple(int(v) for v in options["send_campaigns"].split(","))
    if options.get("send_levels"):
        sizes.send_levels = tuple(int(v) for v in options["send_levels"].split(","))
    if options.get("pipeline_seconds"):
        sizes.pipeline_seconds = options["pipeline_seconds"]
    if options.get("pipeline_rate"):
        sizes.pipeline_rate = options["pipeline_rate"]
    if options.get("sockets"):
        sizes.sockets = options["sockets"]
        sizes.socket_replies = max(sizes.socket_replies, options["sockets"])
    if options.get("bulk_rows"):
        sizes.bulk_rows = options["bulk_rows"]
    if options.get("web_processes"):
        sizes.web_processes = options["web_processes"]
    if options.get("workers"):
        sizes.rq_workers = options["workers"]
    return sizes
