"""Scenario 2 (end to end) and 5 (scale-out): clicks over HTTP → drain jobs in RQ workers →
the Twilio simulator accepts → its signed status callbacks mark the messages delivered.

Texters click at a fixed offered rate; the figure is how many messages per second end up
delivered, and the run ends with a count: the simulator received every message exactly once,
and every one is `delivered` in the database (none lost, none doubled)."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.db import close_old_connections
from django.db.models import F

from benchmarks import data
from benchmarks.context import Bench
from benchmarks.loadgen import Connection, Timings, percentile
from benchmarks.report import Row, ScenarioResult, Target
from benchmarks.scenarios.common import measured, send_request
from campaigns.models import Campaign
from texting.models import Direction, Message, MessageStatus

PIPELINE_TARGET = 200


async def _paced_user(
    port: int, requests: list[bytes], interval: float, start: float, end: float, timings: Timings
) -> None:
    """One texter clicking every `interval` seconds until `end` (a slow answer delays the next
    click; clicks that fall behind are not made up after the end)."""
    connection = await Connection.open("127.0.0.1", port)
    try:
        for i, request in enumerate(requests):
            due = start + i * interval
            if due >= end or time.monotonic() >= end:
                break
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            began = time.perf_counter()
            status, _ = await connection.send(request)
            timings.latencies.append(time.perf_counter() - began)
            timings.statuses[status] += 1
    finally:
        await connection.close()


async def _delivered_samples(campaign_id: int, stop: asyncio.Event, latest: list[int]) -> list[tuple[float, int]]:
    """(time, messages delivered) twice a second, counted in a thread of its own (the ORM is
    synchronous); `latest` gets each count as it comes."""
    samples: list[tuple[float, int]] = []
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(max_workers=1) as executor:

        def count() -> int:
            return Message.objects.filter(campaign_id=campaign_id, status=MessageStatus.DELIVERED).count()

        while not stop.is_set():
            samples.append((time.monotonic(), await loop.run_in_executor(executor, count)))
            latest.append(samples[-1][1])
            try:
                await asyncio.wait_for(stop.wait(), timeout=0.5)
            except TimeoutError:
                pass
        await loop.run_in_executor(executor, close_old_connections)
    return samples


def _stats(simulator_url: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{simulator_url}/stats", timeout=10) as response:  # noqa: S310 (loopback)
        return json.loads(response.read())  # type: ignore[no-any-return]


def pipeline_run(
    bench: Bench, *, web: int, workers: int, rate: int, seconds: float, texters: int, label: str
) -> tuple[Row, dict[str, Any], list[str]]:
    """One run of the whole pipeline; the row's rate is delivered messages per second."""
    web_port, simulator_port = bench.port(), bench.port()
    host = f"127.0.0.1:{web_port}"
    processes = bench.processes(public_base_url=f"http://{host}", api_base_url=f"http://127.0.0.1:{simulator_port}")
    notes: list[str] = []
    try:
        simulator_url = processes.simulator(simulator_port, inbound_url=f"http://{host}/webhooks/twilio/inbound")
        processes.server(web_port, workers=web)
        processes.workers(workers)
        assert bench.organization is not None
        wanted = int(rate * seconds) + texters
        campaign = data.campaign_create(
            organization=bench.organization, title=label, contacts=wanted, cell_base=bench.cell_base(wanted)
        )
        # Its own messaging service: its own drain jobs, and nothing of another scenario's goes out with them.
        Campaign.objects.filter(pk=campaign.pk).update(messaging_service_sid=f"MG{uuid.uuid4().hex}")
        people = bench.texters[:texters]
        dealt = data.contacts_deal(campaign=campaign, texters=people, count=wanted)
        per_user = [
            [send_request(host=host, contact_id=c, session=bench.cookies[t.pk]) for c in dealt[t.pk]] for t in people
        ]
        interval = texters / rate
        timings = Timings()

        async def load() -> tuple[list[tuple[float, int]], float, float]:
            stop = asyncio.Event()
            latest: list[int] = []
            sampler = asyncio.create_task(_delivered_samples(campaign.pk, stop, latest))
            start = time.monotonic() + 0.5
            end = start + seconds
            timings.started = time.perf_counter() + 0.5
            await asyncio.gather(
                *[
                    _paced_user(web_port, requests, interval, start + i * interval / texters, end, timings)
                    for i, requests in enumerate(per_user)
                ]
            )
            timings.finished = time.perf_counter()
            clicks_done = time.monotonic()
            clicked = timings.ok()
            # Wait for the backlog to drain and the callbacks to land: until every click is delivered,
            # or nothing more was delivered for 30 s (then the count check says what is missing).
            progress_at, seen = time.monotonic(), -1
            while not sampler.done() and time.monotonic() - progress_at < 30:
                await asyncio.sleep(0.5)
                if latest and latest[-1] >= clicked:
                    break
                if latest and latest[-1] != seen:
                    progress_at, seen = time.monotonic(), latest[-1]
            stop.set()
            return await sampler, start, clicks_done

        m = measured(bench, load, processes)
        samples, start, clicks_done = m.value
        row, checks = _figures(campaign, timings, samples, start, clicks_done, simulator_url)
        row.case = label
        row.extra["offered clicks/s"] = rate
        row.extra["web processes"], row.extra["workers"] = web, workers
        row.extra["load generator CPU share"] = m.loadgen_share
        row.extra.update(m.cpu_ms_per(row.operations))
        if not checks["exactly once"]:
            notes.append(f"{label}: count check FAILED: {json.dumps(checks)}")
    except Exception:
        notes.append(processes.log_tail())
        raise
    finally:
        processes.stop()
    return row, checks, notes


def _figures(
    campaign: Campaign,
    clicks: Timings,
    samples: list[tuple[float, int]],
    start: float,
    clicks_done: float,
    simulator_url: str,
) -> tuple[Row, dict[str, Any]]:
    outbound = Message.objects.filter(campaign=campaign, direction=Direction.OUTBOUND)
    statuses = Counter(outbound.values_list("status", flat=True))
    delivered = statuses.get(MessageStatus.DELIVERED, 0)
    stats = _stats(simulator_url)
    per_to = stats.get("per_to", {})
    cells = set(outbound.values_list("to_number", flat=True))
    clicked = clicks.ok()
    checks = {
        "clicks answered 200": clicked,
        "messages stored": sum(statuses.values()),
        "accepted by the simulator": stats["accepted"],
        "sent twice to one number": sum(1 for n in per_to.values() if n > 1),
        "simulator duplicates": stats["duplicates"],
        "delivered in the database": delivered,
        "not delivered": {k: v for k, v in statuses.items() if k != MessageStatus.DELIVERED},
        "callbacks failed": stats["callbacks_failed"],
    }
    checks["exactly once"] = (
        clicked == sum(statuses.values()) == stats["accepted"] == delivered
        and set(per_to) == cells
        and checks["sent twice to one number"] == 0
        and stats["duplicates"] == 0
    )
    # Sustained: delivered per second while clicks were offered, after the first 5 s of warm-up.
    steady = [(t, n) for t, n in samples if start + min(5.0, (clicks_done - start) / 3) <= t <= clicks_done]
    if len(steady) >= 2:
        sustained = (steady[-1][1] - steady[0][1]) / max(steady[-1][0] - steady[0][0], 1e-9)
    else:
        sustained = 0.0
    last_change = next((t for t, n in reversed(samples) if n < delivered), start)
    all_done = max(last_change + 1.0, clicks_done) - start
    latencies = [
        (d - c).total_seconds() * 1000
        for c, d in outbound.filter(status=MessageStatus.DELIVERED)
        .annotate(clicked=F("created_at"))
        .values_list("clicked", "delivered_at")
        if d is not None
    ]
    row = Row(
        case="",
        operations=delivered,
        seconds=round(all_done, 2),
        unit="delivered/s",
        p50_ms=_round(percentile(latencies, 0.5)),
        p95_ms=_round(percentile(latencies, 0.95)),
        p99_ms=_round(percentile(latencies, 0.99)),
    )
    row.extra["sustained delivered/s"] = round(sustained, 1)
    row.extra["clicks/s answered"] = round(clicked / clicks.elapsed, 1)
    row.extra["click p99 ms"] = _round(percentile([v * 1000 for v in clicks.latencies], 0.99))
    return row, checks


def _round(value: float | None) -> float | None:
    return round(value, 1) if value is not None else None


def run_end_to_end(bench: Bench) -> ScenarioResult:
    result = ScenarioResult(
        name="pipeline",
        title="2. End to end: click → RQ drain → simulator → status callbacks (delivered)",
    )
    sizes = bench.sizes
    row, checks, notes = pipeline_run(
        bench,
        web=sizes.web_processes,
        workers=sizes.rq_workers,
        rate=sizes.pipeline_rate,
        seconds=sizes.pipeline_seconds,
        texters=sizes.pipeline_texters,
        label=f"{sizes.pipeline_texters} texters, {sizes.pipeline_rate} clicks/s for {sizes.pipeline_seconds:g} s",
    )
    result.rows.append(row)
    result.checks = checks
    result.notes += notes
    result.notes.append(
        "Rate = messages delivered ÷ seconds from the first click until the last delivery; latency = click "
        "(message created) → delivery report applied. Sustained = delivered per second while clicks were offered."
    )
    sustained = float(row.extra["sustained delivered/s"])
    result.targets.append(
        Target(
            "end-to-end messages/s, sustained",
            f"≥ {PIPELINE_TARGET}",
            f"{sustained:,.0f}",
            sustained >= PIPELINE_TARGET,
            f"({sustained / PIPELINE_TARGET - 1:+.0%})",
        )
    )
    result.targets.append(
        Target(
            "every message delivered exactly once",
            "all",
            "all" if checks["exactly once"] else "NO",
            bool(checks["exactly once"]),
        )
    )
    return result


def run_scale_out(bench: Bench) -> ScenarioResult:
    result = ScenarioResult(name="scaleout", title="5. Scale-out: one web process and one worker vs two of each")
    sizes = bench.sizes
    for count in (1, 2):
        row, checks, notes = pipeline_run(
            bench,
            web=count,
            workers=count,
            rate=sizes.scaleout_rate,
            seconds=sizes.scaleout_seconds,
            texters=sizes.pipeline_texters,
            label=f"{count} ASGI process{'es' if count > 1 else ''} + {count} worker{'s' if count > 1 else ''}",
        )
        row.extra["exactly once"] = checks["exactly once"]
        result.rows.append(row)
        result.notes += notes
    if len(result.rows) == 2:
        one, two = (float(r.extra["sustained delivered/s"]) for r in result.rows)
        clicks_one, clicks_two = (float(r.extra["clicks/s answered"]) for r in result.rows)
        result.checks = {
            "delivered/s, two ÷ one": round(two / one, 2) if one else None,
            "clicks/s, two ÷ one": round(clicks_two / clicks_one, 2) if clicks_one else None,
        }
        result.notes.append(
            f"Offered {sizes.scaleout_rate} clicks/s, more than one of each can take, so both runs show capacity. "
            "On one 2-core machine a second process of each mostly shares the same cores: the gain "
            "shows that nothing serialises across processes, not what a second machine would add."
        )
    return result
