"""Outgoing webhooks: the endpoints an organization registers and the log of every delivery."""

from __future__ import annotations

import secrets

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models

from accounts.models import Organization


class Event(models.TextChoices):
    SURVEY_ANSWER_RECORDED = "survey.answer_recorded", "Survey answer recorded"
    TAG_APPLIED = "tag.applied", "Tag applied"
    OPTOUT_CREATED = "optout.created", "Opt-out created"
    OPTOUT_REMOVED = "optout.removed", "Opt-out removed (opted back in)"
    MESSAGE_DELIVERED = "message.delivered", "Message delivered"
    MESSAGE_FAILED = "message.failed", "Message failed or undelivered"
    CAMPAIGN_STARTED = "campaign.started", "Campaign started"
    CAMPAIGN_FINISHED = "campaign.finished", "Campaign finished (archived)"


# Sent only by the "send test event" button, to one endpoint, whatever it subscribes to.
TEST_EVENT = "webhook.test"

validate_webhook_url = URLValidator(
    schemes=["http", "https"],
    message="Enter a web address starting with https:// (or http://), like https://example.org/spoke.",
)


def new_secret() -> str:
    return secrets.token_urlsafe(32)


class WebhookEndpoint(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField("URL", max_length=500, validators=[validate_webhook_url])
    description = models.CharField(max_length=200, blank=True)
    secret = models.CharField(
        max_length=100,
        default=new_secret,
        help_text="Shared secret: the receiver checks each request's signature with it.",
    )
    events = models.JSONField(default=list, blank=True, help_text="The events sent to this endpoint.")
    is_active = models.BooleanField("active", default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "webhook endpoint"
        ordering = ["id"]

    def __str__(self) -> str:
        return self.url

    def clean(self) -> None:
        if self.url and "@" in self.url.split("//", 1)[-1].split("/", 1)[0]:
            raise ValidationError({"url": "Leave user names and passwords out of the address: requests are signed."})
        unknown = [event for event in self.events or [] if event not in Event.values]
        if not isinstance(self.events, list) or unknown:
            raise ValidationError({"events": f"Unknown events: {', '.join(map(str, unknown))}. Choose from the list."})


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Waiting to be sent"
    RETRYING = "retrying", "Failed, will retry"
    SUCCEEDED = "succeeded", "Delivered"
    FAILED = "failed", "Failed (gave up)"


class WebhookDelivery(models.Model):
    """One event sent (or to be sent) to one endpoint, with the outcome of its last attempt."""

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=50)
    payload = models.JSONField(help_text="The JSON body sent.")
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_ms = models.PositiveIntegerField("response time (ms)", null=True, blank=True)
    response_body = models.TextField(blank=True, help_text="The start of the receiver's answer.")
    error = models.CharField(max_length=500, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["endpoint", "-id"], name="webhookdelivery_endpoint"),
            # The daily prune of old finished deliveries (integrations.services.deliveries_prune).
            models.Index(fields=["created_at"], name="webhookdelivery_created"),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint_id} ({self.status})"
