"""Enqueue background jobs after the current transaction commits.

With REDIS_URL set, jobs go to RQ (django-rq) and run in `manage.py rqworker` processes.
Without it (`make run`, most tests), they run in this process right after commit, so the
embedded default needs no Redis. Payloads are JSON primitives (ids), never model instances.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import transaction
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

_redis_clients: dict[str, Any] = {}
_redis_clients_lock = threading.Lock()


def rq_queue_get(name: str) -> Any:
    """`django_rq.get_queue(name)` on one Redis client per process and URL.

    django_rq builds a new client, with a new connection pool, on every call: each send opened a
    fresh Redis connection just to enqueue its drain (the benchmark's profile showed it).
    """
    import django_rq

    return django_rq.get_queue(name, connection=rq_connection(name))


def rq_connection(name: str) -> Any:
    """The Redis client of queue `name`: one per process and URL (see `rq_queue_get`)."""
    from django_rq.connection_utils import get_redis_connection

    config = settings.RQ_QUEUES[name]
    key = repr(sorted(config.items()))
    client = _redis_clients.get(key)
    if client is None:
        with _redis_clients_lock:
            client = _redis_clients.setdefault(key, get_redis_connection(config))
    return client


def enqueue(func: Callable[..., Any], *, queue: str = "default", job_id: str | None = None, **kwargs: Any) -> None:
    """Run `func(**kwargs)` as a job once the surrounding transaction commits.

    A `job_id` deduplicates: while a job with that id is queued and not yet started, enqueueing it
    again does nothing, so a thousand sends make one drain job, not a thousand.
    """

    def _dispatch() -> None:
        if settings.JOBS_SYNC:
            func(**kwargs)
            return
        try:
            rq_queue = rq_queue_get(queue)
            if job_id is not None:
                existing = rq_queue.fetch_job(job_id)
                if existing is not None and existing.get_status(refresh=False) in {"queued", "deferred", "scheduled"}:
                    return
            rq_queue.enqueue(func, job_id=job_id, kwargs=kwargs, result_ttl=60, failure_ttl=7 * 24 * 3600)
        except REDIS_OUTAGE:
            _log_lost_enqueue(func)

    transaction.on_commit(_dispatch)


# Redis down while a job is enqueued after commit: what committed stays committed (the request
# does not fail), and the job is logged as lost. The database holds the work, so whatever needs
# it redoes it: the outbox sweeper re-kicks drains for messages left queued.
REDIS_OUTAGE = (RedisConnectionError, RedisTimeoutError, OSError)


def _log_lost_enqueue(func: Callable[..., Any]) -> None:
    logger.error("Redis unavailable: job %s not enqueued; its work stays in the database", _path(func), exc_info=True)


PENDING_TTL_SECONDS = 120


def _pending_key(key: str) -> str:
    return f"spoke:pending-job:{key}"


def enqueue_once(func: Callable[..., Any], *, key: str, queue: str = "default", **kwargs: Any) -> None:
    """Like `enqueue`, but while one job for `key` waits to start, enqueueing again does nothing.

    A flag in Redis (SET NX) marks the waiting job; the job clears it as it starts, before doing
    any work, so anything committed after that point enqueues a fresh job and nothing is missed.
    Unlike a fixed RQ job id, a second job never overwrites the record of one that is running.
    The flag expires after PENDING_TTL_SECONDS, so a job Redis lost cannot block the key forever.
    """

    def _dispatch() -> None:
        if settings.JOBS_SYNC:
            func(**kwargs)
            return
        try:
            # Most calls stop here (a job is already waiting): no RQ queue object is built for them.
            if not rq_connection(queue).set(_pending_key(key), "1", nx=True, ex=PENDING_TTL_SECONDS):
                return
        except REDIS_OUTAGE:
            _log_lost_enqueue(func)
            return
        rq_queue = rq_queue_get(queue)
        try:
            rq_queue.enqueue(
                run_once_job,
                kwargs={"key": key, "func": _path(func), "kwargs": kwargs},
                description=f"{_path(func)}({key})",
                result_ttl=60,
                failure_ttl=7 * 24 * 3600,
            )
        except REDIS_OUTAGE:
            _log_lost_enqueue(func)
            # The flag must not stand for a job that does not exist (it would hold back the next
            # enqueue until it expires); if Redis is still away, it expires on its own.
            try:
                rq_queue.connection.delete(_pending_key(key))
            except REDIS_OUTAGE:
                pass

    transaction.on_commit(_dispatch)


def run_once_job(*, key: str, func: str, kwargs: dict[str, Any]) -> Any:
    """The RQ job behind `enqueue_once`: clear the pending flag, then do the work."""
    from rq import get_current_job
    from rq.utils import import_attribute

    job = get_current_job()
    if job is not None:
        job.connection.delete(_pending_key(key))
    return import_attribute(func)(**kwargs)  # type: ignore[operator]


def enqueue_at(
    func: Callable[..., Any], *, when: dt.datetime, job_id: str, queue: str = "default", **kwargs: Any
) -> None:
    """Schedule `func(**kwargs)` for `when` (run by `rqworker --with-scheduler`); the same `job_id`
    schedules it once. Without Redis there is no scheduler: a timer thread runs it in this process."""
    if settings.JOBS_SYNC:
        delay = max((when - dt.datetime.now(dt.UTC)).total_seconds(), 0.0)
        timer = threading.Timer(delay, _run_in_thread, args=(func, kwargs))
        timer.daemon = True
        timer.start()
        return
    rq_queue = rq_queue_get(queue)
    rq_queue.enqueue_at(when, func, job_id=job_id, kwargs=kwargs, result_ttl=60, failure_ttl=7 * 24 * 3600)


def _run_in_thread(func: Callable[..., Any], kwargs: dict[str, Any]) -> None:
    from django.db import connections

    try:
        func(**kwargs)
    except Exception:
        logger.exception("delayed job %s failed", _path(func))
    finally:
        connections.close_all()


def _path(func: Callable[..., Any]) -> str:
    return f"{func.__module__}.{func.__qualname__}"
