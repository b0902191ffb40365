from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from accounts.models import Organization
from campaigns.models import Campaign, Contact, JobStatus


class Direction(models.TextChoices):
    OUTBOUND = "out", "Sent to contact"
    INBOUND = "in", "Received from contact"


class MessageStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    DELIVERED = "delivered", "Delivered"
    UNDELIVERED = "undelivered", "Undelivered"
    FAILED = "failed", "Failed"
    REVIEW = "review", "Needs review (may have been sent)"
    CANCELLED = "cancelled", "Not sent"
    RECEIVED = "received", "Received"


# A status may only move forward: a late "sent" after "delivered" is ignored.
STATUS_RANK = {
    MessageStatus.QUEUED: 0,
    MessageStatus.SENDING: 1,
    MessageStatus.REVIEW: 2,
    MessageStatus.SENT: 3,
    MessageStatus.DELIVERED: 4,
    MessageStatus.UNDELIVERED: 4,
    MessageStatus.FAILED: 4,
    MessageStatus.CANCELLED: 4,
    MessageStatus.RECEIVED: 4,
}


class MessageQuerySet(models.QuerySet["Message"]):
    def thread(self, contact: Contact | int) -> MessageQuerySet:
        return self.filter(contact=contact).order_by("id")


class Message(models.Model):
    # Null only for inbound messages that matched no contact: they are kept, never dropped.
    # No database-level foreign keys to the organization and the campaign: every message insert
    # checked them with FOR KEY SHARE on the same two rows, so concurrent sends of one campaign
    # queued on those row locks (multixacts). Both are copies of the contact's (whose key is
    # checked, and which the send has locked already); Django still cascades deletes.
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, null=True, blank=True, db_constraint=False)
    # No index of their own: message_campaign_stats and message_thread start with them. Every index
    # is written again by each send, worker result and delivery report (a message row is updated
    # twice after its insert, never as a HOT update since its status is indexed).
    campaign = models.ForeignKey(
        Campaign,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="messages",
        db_index=False,
        db_constraint=False,
    )
    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, null=True, blank=True, related_name="messages", db_index=False
    )
    texter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    direction = models.CharField(max_length=3, choices=Direction.choices)
    body = models.TextField()
    media_urls = models.JSONField(default=list, blank=True)
    segments = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(max_length=12, choices=MessageStatus.choices)
    status_note = models.CharField(max_length=200, blank=True, help_text="Why a message was not sent.")
    provider = models.CharField(max_length=20, blank=True)
    provider_sid = models.CharField(max_length=64, null=True, blank=True, unique=True)
    is_opt_out_notice = models.BooleanField(
        default=False, help_text="The organization's opt-out message: sent even though the contact opted out."
    )
    error_code = models.PositiveIntegerField(null=True, blank=True)
    from_number = models.CharField(max_length=20, blank=True)
    to_number = models.CharField(max_length=20, blank=True)
    messaging_service_sid = models.CharField(max_length=64, blank=True)
    send_before = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # A transient failure puts the message back in the outbox, due again only after a backoff.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # When a worker claimed it: a message left in `sending` long after this goes to review.
    claimed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    objects = MessageQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["contact", "id"], name="message_thread"),
            # The outbox: small, because messages leave "queued" within seconds.
            models.Index(fields=["messaging_service_sid", "id"], condition=Q(status="queued"), name="message_outbox"),
            models.Index(fields=["status", "claimed_at"], condition=Q(status="sending"), name="message_in_flight"),
            # Matching an inbound reply to the contact last texted at that cell from that service.
            models.Index(
                fields=["to_number", "messaging_service_sid", "id"],
                condition=Q(direction="out"),
                name="message_outbound_to_service",
            ),
            models.Index(fields=["campaign", "direction", "status"], name="message_campaign_stats"),
        ]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} {self.pk}"


class UnmatchedReplyManager(models.Manager["UnmatchedReply"]):
    def get_queryset(self) -> models.QuerySet[UnmatchedReply]:
        return super().get_queryset().filter(direction=Direction.INBOUND, contact__isnull=True)


class UnmatchedReply(Message):
    """An inbound message that matched no contact: kept and listed for organizers, never dropped."""

    objects = UnmatchedReplyManager()  # type: ignore[assignment,misc]

    class Meta:
        proxy = True
        ordering = ["-id"]
        verbose_name = "unmatched reply"
        verbose_name_plural = "unmatched replies"


class ExportJob(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="export_jobs")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.PENDING)
    progress = models.PositiveSmallIntegerField(default=0)
    contacts_file = models.FileField(upload_to="exports/%Y/%m/", blank=True)
    messages_file = models.FileField(upload_to="exports/%Y/%m/", blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"Export {self.pk} of {self.campaign_id}"
