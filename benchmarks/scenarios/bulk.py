"""Scenario 4: import 1,000,000 contacts from a CSV, assign them to 1,000 texters, export them.

Each step is the public service (campaigns.importing.contacts_import_file,
campaigns.services.contacts_split_evenly, texting.exports.export_run) run in a child process,
which reports its time and its peak resident memory (getrusage's ru_maxrss)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from benchmarks import data
from benchmarks.context import Bench, StepFailed
from benchmarks.report import Row, ScenarioResult, Target
from campaigns.models import Campaign, Contact

IMPORT_TARGET_S, ASSIGN_TARGET_S = 20.0, 10.0
# An export "in constant memory" should not grow with the campaign: this much above the
# process's own baseline (Django loaded, ~100 MB) is the allowance.
EXPORT_RSS_ALLOWANCE_MB = 250.0


def run(bench: Bench) -> ScenarioResult:
    sizes = bench.sizes
    rows = sizes.bulk_rows
    result = ScenarioResult(name="bulk", title=f"4. Bulk: import, assign and export {rows:,} contacts")
    assert bench.organization is not None
    campaign = Campaign.objects.create(organization=bench.organization, title=f"Bulk {rows:,}")
    with tempfile.TemporaryDirectory() as directory:
        path = data.contacts_csv_write(Path(directory) / "contacts.csv", rows=rows)
        size_mb = path.stat().st_size / 1024 / 1024
        steps: list[tuple[str, dict[str, Any], str]] = [
            ("import", {"campaign": campaign.pk, "path": str(path)}, f"import {rows:,} rows ({size_mb:.0f} MB CSV)"),
            (
                "assign",
                {"campaign": campaign.pk, "texters": [t.pk for t in bench.texters[: sizes.bulk_texters]]},
                f"assign to {sizes.bulk_texters:,} texters",
            ),
            ("export", {"campaign": campaign.pk}, "export contacts + messages (CSV)"),
        ]
        for step, arguments, case in steps:
            try:
                answer = bench.child(step, arguments, timeout=sizes.bulk_timeout)
            except StepFailed as exc:
                result.rows.append(Row(case=case, operations=0, seconds=sizes.bulk_timeout, unit="rows/s"))
                result.notes.append(f"{case}: {exc}")
                if step == "import":
                    break
                continue
            count = Contact.objects.filter(campaign=campaign).count()
            row = Row(case=case, operations=count, seconds=answer["seconds"], unit="rows/s")
            row.extra["peak RSS MB"] = answer["peak_rss_mb"]
            row.extra.update({k: v for k, v in answer["result"].items() if not isinstance(v, dict) and v != ""})
            result.rows.append(row)
    result.checks["contacts in the campaign"] = Contact.objects.filter(campaign=campaign).count()
    result.checks["contacts assigned"] = Contact.objects.filter(campaign=campaign, assignment__isnull=False).count()
    _targets(result, rows)
    return result


def _targets(result: ScenarioResult, rows: int) -> None:
    by_step = {row.case.split(" ")[0]: row for row in result.rows}
    scale = rows / 1_000_000
    if (row := by_step.get("import")) is not None:
        goal = IMPORT_TARGET_S * scale
        result.targets.append(
            Target(
                f"import {rows:,} contacts",
                f"≤ {goal:g} s",
                f"{row.seconds:.1f} s",
                0 < row.operations and row.seconds <= goal,
                f"({row.seconds / goal - 1:+.0%})",
            )
        )
    if (row := by_step.get("assign")) is not None:
        goal = ASSIGN_TARGET_S * scale
        assigned = result.checks.get("contacts assigned", 0)
        result.targets.append(
            Target(
                f"assign {rows:,} contacts",
                f"≤ {goal:g} s",
                f"{row.seconds:.1f} s",
                assigned > 0 and row.seconds <= goal,
                f"({row.seconds / goal - 1:+.0%})",
            )
        )
    if (row := by_step.get("export")) is not None:
        peak = float(row.extra.get("peak RSS MB", 0))
        result.targets.append(
            Target(
                "export peak memory (streamed, flat)",
                f"≤ {EXPORT_RSS_ALLOWANCE_MB:.0f} MB",
                f"{peak:.0f} MB",
                0 < peak <= EXPORT_RSS_ALLOWANCE_MB,
                f"({peak / EXPORT_RSS_ALLOWANCE_MB - 1:+.0%})",
            )
        )
