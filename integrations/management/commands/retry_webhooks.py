"""manage.py retry_webhooks"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from integrations.services import deliveries_prune, deliveries_retry_due


class Command(BaseCommand):
    help = (
        "Send again every webhook delivery whose next attempt is due. With Redis and "
        "`rqworker --with-scheduler`, RQ's scheduler does this by itself; run this without Redis "
        "(`make run`), from cron, or after Redis lost its scheduled jobs. It also deletes finished "
        "deliveries older than WEBHOOK_DELIVERY_KEEP_DAYS from the log (the outbox sweeper does that "
        "hourly when workers run). Example: manage.py retry_webhooks"
    )

    def handle(self, *args: Any, **options: Any) -> None:
        count = deliveries_retry_due()
        self.stdout.write(f"Retried {count} webhook deliver{'y' if count == 1 else 'ies'}.")
        pruned = deliveries_prune()
        if pruned:
            days = settings.WEBHOOK_DELIVERY_KEEP_DAYS
            self.stdout.write(f"Deleted {pruned} finished deliveries older than {days} days.")
