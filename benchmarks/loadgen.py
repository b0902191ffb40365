"""A cheap HTTP/1.1 load generator: asyncio streams over keep-alive connections.

The load generator shares the machine's cores with the server, the workers, PostgreSQL and
Redis, so it must cost little: each simulated texter is one coroutine on one keep-alive
connection sending requests whose bytes were built before the clock started; a response is
read by its Content-Length (or chunks) and not parsed further than its status line. No client
library: aiohttp or httpx would spend more CPU per request than the server's own parsing.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Timings:
    """Latencies (seconds) of the requests that got a response, and what the others got."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    started: float = 0.0
    finished: float = 0.0

    @property
    def elapsed(self) -> float:
        return max(self.finished - self.started, 1e-9)

    def ok(self, status: int = 200) -> int:
        return self.statuses.get(status, 0)


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile (share in 0..1) of `values`; None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-share * len(ordered) // 1))))
    return ordered[rank - 1]


def http_request(
    method: str, path: str, *, host: str, headers: dict[str, str] | None = None, body: bytes = b""
) -> bytes:
    """The bytes of one HTTP/1.1 request (keep-alive)."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class Connection:
    """One keep-alive connection; `send` writes a prepared request and reads the whole response."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        reader, writer = await asyncio.open_connection(host, port, limit=1 << 20)
        return cls(reader, writer)

    async def send(self, request: bytes) -> tuple[int, bytes]:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = -1
        chunked = False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if chunked:
            body = b""
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
                chunk = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                body += chunk[:-2]
            return status, body
        return status, (await self.reader.readexactly(length) if length > 0 else b"")

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except OSError:
            pass


class _Run:
    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.deadline = float("inf")
        self.connected = 0


async def _user(host: str, port: int, requests: list[bytes], timings: Timings, run: _Run) -> None:
    try:
        connection = await Connection.open(host, port)
    except OSError as exc:
        timings.errors[f"connect: {type(exc).__name__}"] += 1
        return
    run.connected += 1
    await run.gate.wait()
    try:
        for request in requests:
            if time.monotonic() >= run.deadline:
                break
            began = time.perf_counter()
            try:
                status, _ = await connection.send(request)
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                timings.errors[type(exc).__name__] += 1
                await connection.close()
                connection = await Connection.open(host, port)
                continue
            timings.latencies.append(time.perf_counter() - began)
            timings.statuses[status] += 1
    finally:
        await connection.close()


async def closed_loop(host: str, port: int, per_user: list[list[bytes]], *, duration: float) -> Timings:
    """Each inner list is one simulated user sending its requests one after another on its own
    connection, as fast as answers come back, until its list or `duration` runs out. The clock
    starts once every connection is open (1,000 texters take a moment to connect)."""
    timings = Timings()
    run = _Run()
    tasks = [asyncio.create_task(_user(host, port, requests, timings, run)) for requests in per_user]
    waited = 0.0
    while run.connected + sum(timings.errors.values()) < len(tasks) and waited < 30:
        await asyncio.sleep(0.02)
        waited += 0.02
    run.deadline = time.monotonic() + duration
    timings.started = time.perf_counter()
    run.gate.set()
    await asyncio.gather(*tasks)
    timings.finished = time.perf_counter()
    return timings
