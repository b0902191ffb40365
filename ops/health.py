"""Liveness and readiness.

`/healthz` answers 200 while the process can serve a request: no database, no Redis.
`/readyz` checks what serving texters needs: the database, Redis, live RQ workers and how long
the oldest due message has waited in the outbox. Each check has a timeout
(READYZ_TIMEOUT_SECONDS); the answer names each check and says ok or failing, never a host, a
port, an error message or a credential (the unauthenticated can call it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from django.conf import settings
from django.db import connections
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)

# A probe returns (ok, public detail). Details are numbers or words, never error text.
Probe = Callable[[], tuple[bool, object]]

_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="readyz")


def check_database() -> tuple[bool, object]:
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return True, "ok"
    finally:
        # A probe thread must not keep a connection of its own open.
        connections.close_all()


def check_redis() -> tuple[bool, object]:
    if not settings.REDIS_URL:
        return True, "not used"
    from ops.metrics import redis_client

    redis_client().ping()
    return True, "ok"


def check_workers() -> tuple[bool, object]:
    """RQ's registry of live workers: each worker refreshes its key with a heartbeat."""
    if not settings.REDIS_URL or settings.JOBS_SYNC:
        return True, "in process"
    from rq import Worker

    from ops.metrics import redis_client

    count = Worker.count(connection=redis_client())
    return count >= settings.READYZ_MIN_WORKERS, count


def run_checks(probes: dict[str, Probe]) -> dict[str, dict[str, object]]:
    """Run every probe side by side, each within the timeout; a probe that raises or is late fails."""
    futures = {name: _pool.submit(probe) for name, probe in probes.items()}
    results: dict[str, dict[str, object]] = {}
    for name, future in futures.items():
        try:
            ok, detail = future.result(timeout=settings.READYZ_TIMEOUT_SECONDS)
        except FutureTimeout:
            ok, detail = False, "timeout"
        except Exception:
            logger.warning("readiness check %s failed", name, exc_info=True)
            ok, detail = False, "unavailable"
        results[name] = {"ok": ok, "detail": detail}
    return results


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest, queue_lag: Callable[[], float | None] | None = None) -> JsonResponse:
    """`queue_lag` (wired in spoke/urls.py) answers the oldest due outbox message's age in seconds."""
    probes: dict[str, Probe] = {"database": check_database, "redis": check_redis, "workers": check_workers}
    if queue_lag is not None:
        probes["queue_lag"] = _lag_probe(queue_lag)
    checks = run_checks(probes)
    ready = all(check["ok"] for check in checks.values())
    response = JsonResponse({"status": "ok" if ready else "failing", "checks": checks}, status=200 if ready else 503)
    # Probed every few seconds: a failing check is a warning from run_checks, not a server error.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def _lag_probe(queue_lag: Callable[[], float | None]) -> Probe:
    def probe() -> tuple[bool, object]:
        try:
            lag = queue_lag()
        finally:
            connections.close_all()
        limit = settings.READYZ_MAX_QUEUE_LAG_SECONDS
        seconds = round(lag or 0.0, 1)
        return (limit <= 0 or seconds <= limit), seconds

    return probe
