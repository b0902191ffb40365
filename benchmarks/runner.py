"""Runs the chosen scenarios on a prepared database and writes the report."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from pathlib import Path

from benchmarks import report
from benchmarks.context import Bench
from benchmarks.report import ScenarioResult
from benchmarks.scenarios import bulk, inbound, pipeline, sends

SCENARIOS: dict[str, Callable[[Bench], ScenarioResult]] = {
    "sends": sends.run,
    "pipeline": pipeline.run_end_to_end,
    "inbound": inbound.run,
    "bulk": bulk.run,
    "scaleout": pipeline.run_scale_out,
}


def bench_run(
    bench: Bench, *, only: list[str], output: Path, command: str, say: Callable[[str], None] = print
) -> tuple[list[ScenarioResult], Path, Path]:
    """Set up the benchmark's data, run each scenario (a failure is reported, not fatal) and write
    benchmarks.md and benchmarks.json into `output`."""
    bench.setup()
    say(f"SQL counted by: {bench.sql_counter}")
    results: list[ScenarioResult] = []
    for name in only:
        say(f"Running {name}…")
        try:
            result = SCENARIOS[name](bench)
        except Exception as exc:
            result = ScenarioResult(name=name, title=name, error=f"{type(exc).__name__}: {exc}")
            result.notes.append("```\n" + traceback.format_exc()[-3000:] + "\n```")
        results.append(result)
        for row in result.rows:
            say(f"  {row.case}: {row.rate:,.1f} {row.unit}, p99 {row.p99_ms} ms, SQL/op {row.sql_per_op}")
        if result.error:
            say(f"  FAILED: {result.error}")
    meta = report.meta_for(command=command, quick=bench.quick, sql_counter=bench.sql_counter)
    md_path, json_path = report.write(results, meta, directory=output)
    return results, md_path, json_path
