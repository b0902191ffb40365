"""RQ jobs. Thin: each takes JSON primitives and calls one service.

The sweeper is scheduled with RQ 2.x's own scheduler (`rqworker --with-scheduler`): RQ 2.12
has `Queue.enqueue_at/enqueue_in` but no periodic jobs in the worker (its cron scheduler is a
separate `rq cron` process), so `sweep_outbox` schedules its next run itself. Each run has an id
naming its time slot (`sweep-outbox-<slot>`): every worker that starts, and every run, schedules
the next slot, and the same id schedules it once, so there is one sweep per interval however
many workers run, and a new run never overwrites the record of the one that is running.
The sweep also prunes the webhook delivery log, at most once an hour.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core.cache import cache

from core.jobs import enqueue_at
from integrations.services import deliveries_prune
from ops.maintenance import maintenance_resync
from texting.outbox import outbox_drain, outbox_sweep

logger = logging.getLogger(__name__)


def drain_outbox(*, messaging_service_sid: str) -> int:
    return outbox_drain(messaging_service_sid=messaging_service_sid)


def sweep_outbox() -> dict[str, int]:
    try:
        # A Redis that lost the maintenance switch's copy gets it back from the database.
        maintenance_resync()
        result = outbox_sweep()
        pruned = deliveries_prune() if cache.add("webhook-deliveries-pruned", 1, timeout=3600) else 0
    finally:
        sweeper_schedule()
    return {"kicked": len(result.kicked), "stuck": result.stuck, "webhook_deliveries_pruned": pruned}


def sweeper_schedule(*, now: dt.datetime | None = None) -> str | None:
    """Schedule the next sweep (the start of the next interval); returns its job id.

    Nothing to schedule without Redis: the embedded default has no scheduler
    (run `manage.py sweep_outbox` by hand there, if ever needed).
    """
    if settings.JOBS_SYNC:
        return None
    interval = max(settings.SEND_SWEEP_INTERVAL_SECONDS, 1)
    now = now or dt.datetime.now(dt.UTC)
    slot = int(now.timestamp()) // interval + 1
    job_id = f"sweep-outbox-{slot}"
    enqueue_at(sweep_outbox, when=dt.datetime.fromtimestamp(slot * interval, dt.UTC), job_id=job_id, queue="sends")
    return job_id
