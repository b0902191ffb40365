"""Keep the cached event subscriptions in step with the endpoints, however they are saved."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from integrations.events import subscriptions_changed
from integrations.models import WebhookEndpoint


@receiver(post_save, sender=WebhookEndpoint)
@receiver(post_delete, sender=WebhookEndpoint)
def _endpoint_changed(sender: type[WebhookEndpoint], instance: WebhookEndpoint, **kwargs: Any) -> None:
    subscriptions_changed(organization_id=instance.organization_id)
