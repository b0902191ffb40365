"""Enqueue background jobs after the current transaction commits.

With REDIS_URL set, jobs go to RQ (django-rq) and run in `manage.py rqworker` processes.
Without it (`make run`, most tests), they run in this process right after commit, so the
embedded default needs no Redis. Payloads are JSON primitives (ids), never model instances.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)


def enqueue(func: Callable[..., Any], *, queue: str = "default", job_id: str | None = None, **kwargs: Any) -> None:
    """Run `func(**kwargs)` as a job once the surrounding transaction commits.

    A `job_id` deduplicates: while a job with that id is queued and not yet started, enqueueing it
    again does nothing, so a thousand sends make one drain job, not a thousand.
    """

    def _dispatch() -> None:
        if settings.JOBS_SYNC:
            func(**kwargs)
            return
        import django_rq

        rq_queue = django_rq.get_queue(queue)
        if job_id is not None:
            existing = rq_queue.fetch_job(job_id)
            if existing is not None and existing.get_status(refresh=False) in {"queued", "deferred", "scheduled"}:
                return
        rq_queue.enqueue(func, job_id=job_id, kwargs=kwargs, result_ttl=60, failure_ttl=7 * 24 * 3600)

    transaction.on_commit(_dispatch)
