"""Scenario 1: texters clicking Send over HTTP, each on their own session and keep-alive
connection, each click to a different contact; 1 to 1,000 texters at once, on a 20k and a
100k-contact campaign. The ASGI server runs alone (no workers): this is the request path."""

from __future__ import annotations

import functools

from django.conf import settings

from benchmarks import data
from benchmarks.context import Bench
from benchmarks.loadgen import closed_loop
from benchmarks.report import Row, ScenarioResult, Target
from benchmarks.scenarios.common import count_in_process, measured, send_body, send_path, send_request
from texting.models import Message, MessageStatus

SEND_TARGET_RATE, SEND_TARGET_P99, SEND_TARGET_SQL = 500, 150.0, 4


def _sends_for(bench: Bench, level: int) -> int:
    # One texter cannot send thousands in a few seconds; enough for the run, never more than the campaign.
    return max(level * 2, min(bench.sizes.sends_per_level, bench.sizes.sends_per_level * max(level, 5) // 50))


def run(bench: Bench) -> ScenarioResult:
    result = ScenarioResult(name="sends", title="1. Texter sends (HTTP, one session per texter)")
    port = bench.port()
    host = f"127.0.0.1:{port}"
    processes = bench.processes(public_base_url=f"http://{host}")
    try:
        processes.server(port, workers=bench.sizes.web_processes)
        assert bench.organization is not None
        for size in bench.sizes.send_campaigns:
            campaign = data.campaign_create(
                organization=bench.organization,
                title=f"Sends {size:,}",
                contacts=size,
                cell_base=bench.cell_base(size),
            )
            _warm_up(bench, campaign, host, port)
            for level in bench.sizes.send_levels:
                texters = bench.texters[:level]
                dealt = data.contacts_deal(campaign=campaign, texters=texters, count=_sends_for(bench, level))
                per_user = [
                    [send_request(host=host, contact_id=c, session=bench.cookies[t.pk]) for c in dealt[t.pk]]
                    for t in texters
                ]
                before = Message.objects.filter(campaign=campaign).count()
                m = measured(
                    bench,
                    functools.partial(closed_loop, "127.0.0.1", port, per_user, duration=bench.sizes.send_seconds),
                    processes,
                )
                row = Row.from_timings(f"{size:,} contacts, {level:,} texters", m.value, unit="sends/s")
                requests = len(m.value.latencies)
                stored = Message.objects.filter(campaign=campaign).count() - before
                row.extra["messages stored"] = stored
                row.extra["load generator CPU share"] = m.loadgen_share
                row.extra.update(m.cpu_ms_per(len(m.value.latencies)))
                if m.statements is not None:
                    row.sql_per_op = m.statements.per(requests)
                    row.extra["sql"] = m.statements.breakdown(requests)
                    row.extra["FK checks per op (inside PostgreSQL)"] = m.statements.checks_per(requests)
                else:
                    row.sql_per_op = _sql_in_process(bench, campaign, texters[0])
                result.rows.append(row)
                if stored != row.operations:
                    result.notes.append(
                        f"{row.case}: {row.operations} sends answered 200 but {stored} messages were stored"
                    )
        _targets(bench, result)
    finally:
        processes.stop()
        # No worker ran: the queued messages would go out with the next scenario's drains.
        Message.objects.filter(campaign__title__startswith="Sends ", status=MessageStatus.QUEUED).update(
            status=MessageStatus.FAILED, status_note="benchmark: the send-request scenario runs no workers"
        )
    return result


def _warm_up(bench: Bench, campaign: object, host: str, port: int) -> None:
    """A second of sends first, so every server process has imported its code and opened its connection."""
    texters = bench.texters[: min(10, len(bench.texters))]
    dealt = data.contacts_deal(campaign=campaign, texters=texters, count=len(texters) * 10)  # type: ignore[arg-type]
    per_user = [
        [send_request(host=host, contact_id=c, session=bench.cookies[t.pk]) for c in dealt[t.pk]] for t in texters
    ]
    measured(bench, lambda: closed_loop("127.0.0.1", port, per_user, duration=1.0))


def _sql_in_process(bench: Bench, campaign: object, texter: object) -> float:
    dealt = data.contacts_deal(campaign=campaign, texters=[texter], count=1)  # type: ignore[arg-type, list-item]
    contact_id = next(iter(dealt.values()))[0]

    def request(client: object) -> None:
        client.cookies[settings.SESSION_COOKIE_NAME] = bench.cookies[texter.pk]  # type: ignore[attr-defined]
        client.post(send_path(contact_id), send_body(), content_type="application/json")  # type: ignore[attr-defined]

    return float(count_in_process(request))


def _targets(bench: Bench, result: ScenarioResult) -> None:
    at_50 = [row for row in result.rows if row.case.endswith(" 50 texters")]
    for row in at_50:
        result.targets.append(
            Target(
                f"sends/s at 50 texters ({row.case.split(',')[0]})",
                f"≥ {SEND_TARGET_RATE}",
                f"{row.rate:,.0f}",
                row.rate >= SEND_TARGET_RATE,
                f"({row.rate / SEND_TARGET_RATE - 1:+.0%})",
            )
        )
        p99 = row.p99_ms or 0.0
        result.targets.append(
            Target(
                f"p99 at 50 texters ({row.case.split(',')[0]})",
                f"≤ {SEND_TARGET_P99:.0f} ms",
                f"{p99:.0f} ms",
                p99 <= SEND_TARGET_P99,
                f"({p99 / SEND_TARGET_P99 - 1:+.0%})",
            )
        )
    if result.rows:
        worst = max(row.sql_per_op or 0 for row in result.rows)
        result.targets.append(
            Target(
                "SQL statements per send request",
                f"≤ {SEND_TARGET_SQL}",
                f"{worst:g}",
                worst <= SEND_TARGET_SQL,
                f"({worst - SEND_TARGET_SQL:+g})",
            )
        )
    if len(at_50) >= 2:
        small, large = at_50[0], at_50[-1]
        ratio = large.rate / small.rate if small.rate else 0
        result.targets.append(
            Target(
                "flat with campaign size (sends/s at 50, largest ÷ smallest campaign)",
                "≥ 0.85",
                f"{ratio:.2f}",
                ratio >= 0.85,
                f"({ratio - 1:+.0%})",
            )
        )
