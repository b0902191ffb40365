from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from texting.outbox import outbox_sweep


class Command(BaseCommand):
    help = (
        "Run one sweep of the outbox now: kick the drain again for every messaging service with "
        "messages left queued (for example after Redis lost its jobs), and move messages stuck in "
        "'sending' (a worker died mid-send) to review, since they may have been sent. Workers started "
        "with `rqworker --with-scheduler` already run this every SEND_SWEEP_INTERVAL_SECONDS."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        result = outbox_sweep()
        kicked = ", ".join(service or "(default service)" for service in result.kicked) or "none"
        self.stdout.write(f"Drains kicked for: {kicked}. Messages stuck in sending moved to review: {result.stuck}.")
