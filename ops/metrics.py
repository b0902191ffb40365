"""Counters and histograms shared by every process, for /metrics.

Every web process and RQ worker adds to the same numbers in Redis (hashes, HINCRBY), so one scrape
of any web process sees the whole deployment, on one machine or many, on a Procfile platform too.
Hot paths never wait on it per event:

- message counters are added once per drain batch (one pipelined round trip);
- request latency and the delivery reports' counters and lag are kept in the process and flushed
  to Redis at most once a second (one pipelined round trip; a timer flushes what a process that
  went quiet still holds), so a request or a status callback costs microseconds;
- open websockets are counted per process (a key per process with an expiry, refreshed as sockets
  open and close, and every few minutes while pages ping), so a process that died stops counting
  once its key expires.

Without Redis (`make run`, most tests: settings.JOBS_SYNC) everything runs in one process and the
numbers live in it.
"""

from __future__ import annotations

import bisect
import logging
import os
import socket
import threading
import time
from collections import defaultdict
from collections.abc import Mapping
from functools import lru_cache

from django.conf import settings
from redis import Redis

logger = logging.getLogger(__name__)

COUNTERS_KEY = "spoke:metrics:counters"
HISTOGRAMS_KEY = "spoke:metrics:histograms"
SOCKETS_SET = "spoke:metrics:websockets"
SOCKETS_KEY_TTL = 3600
FLUSH_SECONDS = 1.0

# Seconds. Request latency and status-callback lag share the buckets' shape at different scales.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CALLBACK_LAG_BUCKETS = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0)
HISTOGRAMS = {"http_request_duration_seconds": LATENCY_BUCKETS, "status_callback_lag_seconds": CALLBACK_LAG_BUCKETS}


def _shared() -> bool:
    return bool(settings.REDIS_URL) and not settings.JOBS_SYNC


@lru_cache(maxsize=4)
def _client(url: str) -> Redis:
    # Short timeouts: a metric must never hold a request or a drain for long.
    return Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def redis_client() -> Redis:
    return _client(settings.REDIS_URL)


def _field(name: str, labels: dict[str, str]) -> str:
    """`name|k=v|k=v`: one hash field per labelled series."""
    return "|".join([name, *(f"{k}={v}" for k, v in sorted(labels.items()))])


def parse_field(field: str) -> tuple[str, dict[str, str]]:
    name, *pairs = field.split("|")
    return name, dict(pair.split("=", 1) for pair in pairs)


class _Local:
    """The in-process store: the embedded default's numbers, and each process's unflushed latency."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counters: dict[str, float] = defaultdict(float)
        self.histograms: dict[str, float] = defaultdict(float)
        self.pending: dict[str, float] = defaultdict(float)  # histogram fields held until the next flush
        self.pending_counters: dict[str, float] = defaultdict(float)
        self.last_flush = time.monotonic()
        self.sockets = 0
        self.timer_pid = 0  # the process whose flush timer is pending (a forked child has none)
        self.sockets_refreshed = time.monotonic()
        self.per_minute: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))


_local = _Local()


def counters_add(
    name: str, amounts: dict[tuple[tuple[str, str], ...], int] | None = None, *, flush: bool = True, **labels: str
) -> None:
    """Add 1 to `name{labels}`; or, with `amounts`, add each amount to its label set (one round trip).

    With `flush=False` the amounts wait in the process until the next flush (at most a second).
    """
    series = {_field(name, dict(key)): n for key, n in amounts.items() if n} if amounts is not None else None
    if series is None:
        series = {_field(name, labels): 1}
    if not series:
        return
    if not _shared():
        with _local.lock:
            for field, n in series.items():
                _local.counters[field] += n
        return
    if not flush:
        _hold(_local.pending_counters, series, flush=False)
        return
    try:
        pipe = redis_client().pipeline(transaction=False)
        for field, n in series.items():
            pipe.hincrby(COUNTERS_KEY, field, n)
        pipe.execute()
    except Exception:  # a lost metric must never fail what it counts
        logger.warning("metrics: could not add to %s", name, exc_info=True)


def _histogram_fields(name: str, value: float, labels: dict[str, str]) -> dict[str, float]:
    buckets = HISTOGRAMS[name]
    index = bisect.bisect_left(buckets, value)
    le = str(buckets[index]) if index < len(buckets) else "+Inf"
    return {
        _field(name, {**labels, "le": le}): 1,
        _field(f"{name}_sum", labels): value,
        _field(f"{name}_count", labels): 1,
    }


def histogram_observe(name: str, value: float, *, flush: bool = True, **labels: str) -> None:
    """Count `value` in its bucket (not cumulative here; /metrics adds the buckets up).

    With `flush=False` the observation waits in the process until the next flush (at most a second).
    """
    fields = _histogram_fields(name, value, labels)
    if not _shared():
        with _local.lock:
            for field, n in fields.items():
                _local.histograms[field] += n
        return
    _hold(_local.pending, fields, flush=flush)


def _hold(target: dict[str, float], fields: Mapping[str, float], *, flush: bool) -> None:
    """Add `fields` to what this process holds for Redis; flush when due (or asked)."""
    with _local.lock:
        for field, n in fields.items():
            target[field] += n
        due = flush or time.monotonic() - _local.last_flush >= FLUSH_SECONDS
        # A process that goes quiet still flushes what it holds, a second later, on a timer thread.
        start_timer = not due and _local.timer_pid != os.getpid()
        if start_timer:
            _local.timer_pid = os.getpid()
    if due:
        metrics_flush()
    elif start_timer:
        timer = threading.Timer(FLUSH_SECONDS, metrics_flush)
        timer.daemon = True
        timer.start()


def metrics_flush() -> None:
    """Send this process's held observations and counts to Redis: one pipelined round trip."""
    with _local.lock:
        pending, _local.pending = _local.pending, defaultdict(float)
        counters, _local.pending_counters = _local.pending_counters, defaultdict(float)
        _local.last_flush = time.monotonic()
        _local.timer_pid = 0  # the next held observation starts a new timer
    if not (pending or counters) or not _shared():
        return
    try:
        pipe = redis_client().pipeline(transaction=False)
        for field, n in pending.items():
            if field.split("|", 1)[0].endswith("_sum"):
                pipe.hincrbyfloat(HISTOGRAMS_KEY, field, n)
            else:
                pipe.hincrby(HISTOGRAMS_KEY, field, int(n))
        for field, n in counters.items():
            pipe.hincrby(COUNTERS_KEY, field, int(n))
        pipe.execute()
    except Exception:
        logger.warning("metrics: could not flush histograms", exc_info=True)


def _socket_key() -> str:
    return f"spoke:metrics:websockets:{socket.gethostname()}:{os.getpid()}"


def websockets_change(delta: int) -> None:
    """A websocket opened (+1) or closed (-1) in this process; every process's count is shared."""
    with _local.lock:
        _local.sockets = max(_local.sockets + delta, 0)
        _local.sockets_refreshed = time.monotonic()
        count = _local.sockets
    if not _shared():
        return
    key = _socket_key()
    try:
        pipe = redis_client().pipeline(transaction=False)
        pipe.set(key, count, ex=SOCKETS_KEY_TTL)
        pipe.sadd(SOCKETS_SET, key)
        pipe.execute()
    except Exception:
        logger.warning("metrics: could not record websockets", exc_info=True)


SOCKETS_REFRESH_SECONDS = 300


def websockets_refresh_due() -> bool:
    """Whether this process's socket count should be written again (its key must not expire while
    sockets stay open without any opening or closing): true at most once per SOCKETS_REFRESH_SECONDS."""
    now = time.monotonic()
    with _local.lock:
        if _local.sockets == 0 or now - _local.sockets_refreshed < SOCKETS_REFRESH_SECONDS:
            return False
        _local.sockets_refreshed = now
    return True


def websockets_open() -> int:
    """Open websockets across every live process."""
    if not _shared():
        return _local.sockets
    client = redis_client()
    keys = [_text(k) for k in client.smembers(SOCKETS_SET)]
    if not keys:
        return 0
    values = client.mget(keys)
    gone = [k for k, v in zip(keys, values, strict=True) if v is None]
    if gone:
        client.srem(SOCKETS_SET, *gone)
    return sum(int(v) for v in values if v is not None)


def _minute_key(name: str) -> str:
    return f"spoke:metrics:per-minute:{name}"


MINUTES_KEPT = 120


def per_minute_add(name: str, n: int, *, now: float | None = None) -> None:
    """Add `n` to this minute's count of `name` (the system page's throughput chart)."""
    if n <= 0:
        return
    minute = int((now or time.time()) // 60)
    if not _shared():
        with _local.lock:
            series = _local.per_minute[name]
            series[minute] += n
            for old in [m for m in series if m < minute - MINUTES_KEPT]:
                del series[old]
        return
    try:
        pipe = redis_client().pipeline(transaction=False)
        pipe.hincrby(_minute_key(name), str(minute), n)
        pipe.expire(_minute_key(name), MINUTES_KEPT * 60)
        pipe.execute()
    except Exception:
        logger.warning("metrics: could not add to %s per minute", name, exc_info=True)


def per_minute_read(name: str, *, minutes: int = 60, now: float | None = None) -> list[tuple[int, int]]:
    """(minute as a Unix minute, count) for the last `minutes` minutes, oldest first, zeros included."""
    last = int((now or time.time()) // 60)
    first = last - minutes + 1
    if not _shared():
        with _local.lock:
            stored = {m: int(v) for m, v in _local.per_minute[name].items()}
    else:
        stored = {int(k): int(v) for k, v in redis_client().hgetall(_minute_key(name)).items()}
    return [(m, stored.get(m, 0)) for m in range(first, last + 1)]


def counters_read() -> dict[str, float]:
    if not _shared():
        with _local.lock:
            return dict(_local.counters)
    metrics_flush()  # this process's own held counts first (others' arrive within a second)
    return {_text(k): float(v) for k, v in redis_client().hgetall(COUNTERS_KEY).items()}


def histograms_read() -> dict[str, float]:
    if not _shared():
        with _local.lock:
            return dict(_local.histograms)
    metrics_flush()
    return {_text(k): float(v) for k, v in redis_client().hgetall(HISTOGRAMS_KEY).items()}


def metrics_reset() -> None:
    """Forget every number (tests)."""
    with _local.lock:
        _local.counters.clear()
        _local.histograms.clear()
        _local.pending.clear()
        _local.pending_counters.clear()
        _local.sockets = 0
        _local.per_minute.clear()
    if _shared():
        try:
            client = redis_client()
            client.delete(COUNTERS_KEY, HISTOGRAMS_KEY, SOCKETS_SET, *client.keys("spoke:metrics:per-minute:*"))
        except Exception:
            logger.warning("metrics: could not reset the shared numbers", exc_info=True)
