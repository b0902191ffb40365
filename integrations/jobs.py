"""RQ jobs for outgoing webhooks. Thin: JSON primitives in, one service call."""

from __future__ import annotations

from typing import Any

from integrations import services


def webhook_event_fan_out(*, organization_id: int, event: str, payload: dict[str, Any], occurred_at: str) -> None:
    """Log one delivery per endpoint that wants the event and queue each (queue "default")."""
    services.deliveries_create(organization_id=organization_id, event=event, payload=payload, occurred_at=occurred_at)


def webhook_deliver(*, delivery_id: int) -> None:
    """One attempt at one delivery; a failure schedules the next attempt with backoff."""
    services.delivery_attempt(delivery_id=delivery_id)
