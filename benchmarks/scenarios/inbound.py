"""Scenario 3: contacts' replies through the signed Twilio webhook, and how soon a reply reaches
its texter's open websocket with 1,000 texter sockets open.

Each request is signed with the twilio SDK's RequestValidator, as Twilio signs (and as the
tests do), over the URL the server knows itself by (PUBLIC_BASE_URL) and the form parameters."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.parse
import uuid
from typing import Any

from django.conf import settings
from twilio.request_validator import RequestValidator
from websockets.asyncio.client import ClientConnection, connect

from benchmarks import data
from benchmarks.context import Bench
from benchmarks.environment import ACCOUNT_SID, AUTH_TOKEN, MESSAGING_SERVICE
from benchmarks.loadgen import Connection, Timings, closed_loop, http_request, percentile
from benchmarks.report import Row, ScenarioResult, Target
from benchmarks.scenarios.common import count_in_process, measured
from texting.models import Direction, Message

INBOUND_TARGET_RATE, INBOUND_TARGET_SQL, SOCKET_TARGET_P99 = 700, 4, 200.0
INBOUND_PATH = "/webhooks/twilio/inbound"
FROM_NUMBER = "+15005550006"


def _params(cell: str) -> dict[str, str]:
    sid = f"SM{uuid.uuid4().hex}"
    return {
        "AccountSid": ACCOUNT_SID,
        "ApiVersion": "2010-04-01",
        "MessageSid": sid,
        "SmsSid": sid,
        "SmsMessageSid": sid,
        "From": cell,
        "To": FROM_NUMBER,
        "Body": "Yes, count me in!",
        "NumMedia": "0",
        "NumSegments": "1",
        "MessagingServiceSid": MESSAGING_SERVICE,
    }


def inbound_request(*, host: str, public_base_url: str, cell: str) -> bytes:
    params = _params(cell)
    signature = RequestValidator(AUTH_TOKEN).compute_signature(f"{public_base_url}{INBOUND_PATH}", params)
    return http_request(
        "POST",
        INBOUND_PATH,
        host=host,
        headers={"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature},
        body=urllib.parse.urlencode(params).encode(),
    )


def run(bench: Bench) -> ScenarioResult:
    result = ScenarioResult(name="inbound", title="3. Inbound replies (signed webhook) and reply → texter websocket")
    sizes = bench.sizes
    port = bench.port()
    host = f"127.0.0.1:{port}"
    public = f"http://{host}"
    processes = bench.processes(public_base_url=public)
    assert bench.organization is not None
    try:
        processes.server(port, workers=sizes.web_processes)
        total = sizes.inbound_replies + sizes.socket_replies
        campaign = data.campaign_create(
            organization=bench.organization, title="Inbound", contacts=total, cell_base=bench.cell_base(total)
        )
        socket_texters = bench.texters[: sizes.sockets]
        data.contacts_deal(campaign=campaign, texters=socket_texters, count=total)
        texted = data.contacts_texted(campaign=campaign, count=total)
        throughput, for_sockets = texted[: sizes.inbound_replies], texted[sizes.inbound_replies :]

        # Throughput: 50 senders (Twilio's callbacks arrive on many connections), each reply once.
        senders = 50
        per_user: list[list[bytes]] = [[] for _ in range(senders)]
        for i, (_contact, cell, _texter) in enumerate(throughput):
            per_user[i % senders].append(inbound_request(host=host, public_base_url=public, cell=cell))
        before = Message.objects.filter(direction=Direction.INBOUND).count()
        m = measured(bench, lambda: closed_loop("127.0.0.1", port, per_user, duration=sizes.inbound_seconds), processes)
        row = Row.from_timings(f"{senders} concurrent webhook connections", m.value, unit="replies/s")
        stored = Message.objects.filter(direction=Direction.INBOUND).count() - before
        row.extra["replies stored"] = stored
        row.extra["load generator CPU share"] = m.loadgen_share
        requests = len(m.value.latencies)
        row.extra.update(m.cpu_ms_per(requests))
        if m.statements is not None:
            row.sql_per_op = m.statements.per(requests)
            row.extra["sql"] = m.statements.breakdown(requests)
            row.extra["FK checks per op (inside PostgreSQL)"] = m.statements.checks_per(requests)
        else:
            row.sql_per_op = _sql_in_process(public, for_sockets.pop()[1])
        result.rows.append(row)
        result.checks["replies answered 200 = stored"] = row.operations == stored

        socket_row, socket_checks = _sockets(bench, port, public, socket_texters, for_sockets)
        result.rows.append(socket_row)
        result.checks.update(socket_checks)
        _targets(result, row, socket_row)
    except Exception:
        result.notes.append(processes.log_tail())
        raise
    finally:
        processes.stop()
    return result


def _sql_in_process(public: str, cell: str) -> float:
    params = _params(cell)
    signature = RequestValidator(AUTH_TOKEN).compute_signature(f"{public}{INBOUND_PATH}", params)
    previous = settings.PUBLIC_BASE_URL
    settings.PUBLIC_BASE_URL = public
    try:
        return float(
            count_in_process(lambda client: client.post(INBOUND_PATH, params, HTTP_X_TWILIO_SIGNATURE=signature))
        )
    finally:
        settings.PUBLIC_BASE_URL = previous


async def _open_socket(port: int, session: str) -> ClientConnection:
    return await connect(
        f"ws://127.0.0.1:{port}/ws/texter/",
        origin=f"http://127.0.0.1:{port}",  # type: ignore[arg-type]
        additional_headers={"Cookie": f"{settings.SESSION_COOKIE_NAME}={session}"},
        compression=None,
        open_timeout=60,
    )


def _sockets(
    bench: Bench, port: int, public: str, texters: list[Any], contacts: list[tuple[int, str, int]]
) -> tuple[Row, dict[str, Any]]:
    """Open one socket per texter, then post replies at a steady rate and time each one from the
    webhook request to the `reply_received` event on its texter's socket."""
    sizes = bench.sizes
    host = f"127.0.0.1:{port}"
    sent_at: dict[int, float] = {}
    received_at: dict[int, float] = {}
    timings = Timings()

    async def listen(socket: ClientConnection) -> None:
        async for raw in socket:
            event = json.loads(raw)
            if event.get("event") == "reply_received" and event.get("contact_id") in sent_at:
                received_at.setdefault(event["contact_id"], time.perf_counter())

    async def load() -> dict[str, Any]:
        sockets: list[ClientConnection] = []
        for start in range(0, len(texters), 100):  # connect in waves, as pages open
            sockets += await asyncio.gather(
                *[_open_socket(port, bench.cookies[t.pk]) for t in texters[start : start + 100]]
            )
        listeners = [asyncio.create_task(listen(s)) for s in sockets]
        await asyncio.sleep(1.0)
        posters = [await Connection.open("127.0.0.1", port) for _ in range(10)]
        interval = 1 / sizes.socket_rate
        begin = time.monotonic()
        timings.started = time.perf_counter()

        async def post(i: int, contact_id: int, cell: str) -> None:
            delay = begin + i * interval - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            connection = posters[i % len(posters)]
            request = inbound_request(host=host, public_base_url=public, cell=cell)
            sent_at[contact_id] = time.perf_counter()
            status, _ = await connection.send(request)
            timings.statuses[status] += 1

        # Ten connections, each posting its share in order (a connection carries one request at a time).
        lanes: list[list[tuple[int, int, str]]] = [[] for _ in posters]
        for i, (contact_id, cell, _texter) in enumerate(contacts):
            lanes[i % len(posters)].append((i, contact_id, cell))

        async def lane(items: list[tuple[int, int, str]]) -> None:
            for i, contact_id, cell in items:
                await post(i, contact_id, cell)

        await asyncio.gather(*[lane(items) for items in lanes])
        deadline = time.monotonic() + 10
        while len(received_at) < len(sent_at) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        timings.finished = time.perf_counter()
        open_count = sum(1 for s in sockets if s.state.name == "OPEN")
        for task in listeners:
            task.cancel()
        for socket in sockets:
            await socket.close()
        for connection in posters:
            await connection.close()
        return {"sockets open": open_count}

    m = measured(bench, load)
    latencies = [(received_at[c] - sent_at[c]) * 1000 for c in received_at]
    missing = len(sent_at) - len(received_at)
    row = Row(
        case=f"{len(texters):,} texter sockets open, replies at {sizes.socket_rate}/s",
        operations=len(received_at),
        seconds=round(timings.elapsed, 2),
        unit="events/s",
        p50_ms=_round(percentile(latencies, 0.5)),
        p95_ms=_round(percentile(latencies, 0.95)),
        p99_ms=_round(percentile(latencies, 0.99)),
    )
    row.extra["replies posted"] = len(sent_at)
    row.extra["events missing after 10 s"] = missing
    row.extra["load generator CPU share"] = m.loadgen_share
    checks = {
        "sockets open during the run": m.value["sockets open"],
        "every reply reached its texter's socket": missing == 0,
    }
    return row, checks


def _round(value: float | None) -> float | None:
    return round(value, 1) if value is not None else None


def _targets(result: ScenarioResult, row: Row, socket_row: Row) -> None:
    result.targets.append(
        Target(
            "inbound replies/s (signed webhook)",
            f"≥ {INBOUND_TARGET_RATE}",
            f"{row.rate:,.0f}",
            row.rate >= INBOUND_TARGET_RATE,
            f"({row.rate / INBOUND_TARGET_RATE - 1:+.0%})",
        )
    )
    sql = row.sql_per_op or 0
    result.targets.append(
        Target(
            "SQL statements per inbound reply",
            f"≤ {INBOUND_TARGET_SQL}",
            f"{sql:g}",
            sql <= INBOUND_TARGET_SQL,
            f"({sql - INBOUND_TARGET_SQL:+g})",
        )
    )
    p99 = socket_row.p99_ms
    met = p99 is not None and p99 <= SOCKET_TARGET_P99 and socket_row.extra["events missing after 10 s"] == 0
    result.targets.append(
        Target(
            "reply → texter websocket p99",
            f"≤ {SOCKET_TARGET_P99:.0f} ms",
            f"{p99 if p99 is not None else '–'} ms",
            met,
            f"({(p99 or 0) / SOCKET_TARGET_P99 - 1:+.0%})",
        )
    )
