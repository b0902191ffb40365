"""The RQ worker class Spoke's `rqworker` runs (settings.RQ["WORKER_CLASS"])."""

from __future__ import annotations

import logging
from typing import Any

from rq.job import Job
from rq.queue import Queue
from rq.worker import Worker

from ops.logs import request_id_var

logger = logging.getLogger(__name__)


class SpokeWorker(Worker):
    """An RQ worker that makes sure the outbox sweeper is scheduled when it starts.

    The sweeper then keeps itself scheduled (texting/jobs.py); seeding it here means a Redis that
    lost its jobs is repaired as soon as any worker (re)starts.
    """

    def work(self, *args: Any, **kwargs: Any) -> bool:
        from texting.jobs import sweeper_schedule

        try:
            sweeper_schedule()
        except Exception:  # a worker that cannot schedule the sweeper must still send
            logger.exception("could not schedule the outbox sweeper")
        return super().work(*args, **kwargs)

    def perform_job(self, job: Job, queue: Queue) -> bool:
        # Every log line the job writes carries its id, as a request's lines carry the request's.
        token = request_id_var.set(f"job-{job.id}")
        try:
            return super().perform_job(job, queue)
        finally:
            request_id_var.reset(token)
