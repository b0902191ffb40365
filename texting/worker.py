"""The RQ worker class Spoke's `rqworker` runs (settings.RQ["WORKER_CLASS"]).

Jobs run in the worker process itself (RQ's SimpleWorker), not in a process forked per job: a
drain job is short and frequent while texters send (it ends when the outbox is empty and the next
send queues another), and each fork paid for a new database connection, a new Twilio client and
its TLS connections. A job's timeout still applies (SIGALRM, as in a forked job); a crash or kill
of the worker is what the outbox is built for (claims in `sending` go to review via the sweeper).
Like a request, each job starts and ends by closing a database connection that broke or aged past
CONN_MAX_AGE, so one bad connection fails at most one job.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import close_old_connections
from rq.job import Job
from rq.queue import Queue
from rq.worker import SimpleWorker

from ops.logs import request_id_var

logger = logging.getLogger(__name__)


class SpokeWorker(SimpleWorker):
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
        close_old_connections()
        try:
            return super().perform_job(job, queue)
        finally:
            close_old_connections()
            request_id_var.reset(token)
