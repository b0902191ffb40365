from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from accounts.models import Organization
from campaigns.hours import is_valid_timezone

# What an organizer sets up on a campaign besides its title: edited in the back office and the
# API, and carried over when a campaign is copied.
CAMPAIGN_SETTINGS_FIELDS = (
    "description",
    "due_by",
    "intro_html",
    "logo_image_url",
    "primary_color",
    "texters_can_edit_first_message",
    "texter_visible_fields",
    "override_org_texting_hours",
    "texting_hours_enforced",
    "texting_hours_start",
    "texting_hours_end",
    "timezone",
    "use_dynamic_assignment",
    "batch_size",
    "max_contacts_per_texter",
    "response_window_hours",
    "messaging_service_sid",
)


class Campaign(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="campaigns")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    due_by = models.DateField(null=True, blank=True)
    intro_html = models.TextField(
        "intro text",
        blank=True,
        help_text="Shown to texters on their todo list. Basic HTML is kept; scripts are removed.",
    )
    logo_image_url = models.URLField(blank=True)
    primary_color = models.CharField(max_length=7, default="#209556", help_text="Accent colour, like #209556.")
    is_started = models.BooleanField(default=False)
    started_at = models.DateTimeField(null=True, blank=True)
    is_archived = models.BooleanField(default=False)
    texters_can_edit_first_message = models.BooleanField(
        default=False, help_text="Off: the first message is sent exactly as scripted."
    )
    override_org_texting_hours = models.BooleanField(default=False)
    texting_hours_enforced = models.BooleanField(default=True)
    texting_hours_start = models.PositiveSmallIntegerField(default=9, validators=[MaxValueValidator(23)])
    texting_hours_end = models.PositiveSmallIntegerField(default=21, validators=[MaxValueValidator(24)])
    timezone = models.CharField(
        max_length=64, default="America/New_York", help_text="Fallback for contacts whose timezone is unknown."
    )
    use_dynamic_assignment = models.BooleanField(default=False)
    batch_size = models.PositiveIntegerField(default=300, validators=[MinValueValidator(1)])
    max_contacts_per_texter = models.PositiveIntegerField(null=True, blank=True)
    response_window_hours = models.PositiveIntegerField(default=48)
    messaging_service_sid = models.CharField(
        max_length=64, blank=True, help_text="Overrides the organization's messaging service."
    )
    join_token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    texter_visible_fields = models.JSONField(
        null=True,
        blank=True,
        help_text=(
            "Custom fields texters see in the contact panel, as a list of column names like "
            '["zip", "favorite_color"]. Empty: every custom field.'
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["organization", "is_archived"], name="campaign_org_archived")]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        if (
            self.override_org_texting_hours
            and self.texting_hours_enforced
            and self.texting_hours_start >= self.texting_hours_end
        ):
            raise ValidationError(
                {"texting_hours_end": "Texting hours must end after they start (for example 9 to 21)."}
            )
        if self.timezone and not is_valid_timezone(self.timezone):
            raise ValidationError({"timezone": "Use a timezone name like America/New_York."})

    @property
    def is_active(self) -> bool:
        return self.is_started and not self.is_archived


class InteractionStep(models.Model):
    """A node of the script tree.

    The root (no parent) holds the first message in `script` and the first survey `question`.
    Each child is an answer to its parent's question: `answer_option` is the answer's label,
    `script` what the texter sends when it is chosen, and `question` the next question to ask.
    """

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="interaction_steps")
    parent = models.ForeignKey("self", on_delete=models.CASCADE, null=True, blank=True, related_name="children")
    answer_option = models.CharField(max_length=200, blank=True)
    script = models.TextField(blank=True)
    question = models.CharField(max_length=500, blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign"], condition=Q(parent__isnull=True), name="interactionstep_one_root_per_campaign"
            )
        ]

    def __str__(self) -> str:
        return self.answer_option or self.question or "First message"


class CannedResponse(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="canned_responses")
    title = models.CharField(max_length=200)
    text = models.TextField()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "title"]

    def __str__(self) -> str:
        return self.title


class Tag(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=100)
    group = models.CharField(max_length=100, blank=True)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["group", "name"]
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="tag_unique_org_name")]

    def __str__(self) -> str:
        return self.name


class Assignment(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="assignments")
    texter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments")
    max_contacts = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["campaign", "texter"], name="assignment_unique_campaign_texter")]

    def __str__(self) -> str:
        return f"{self.texter} · {self.campaign}"


class ContactStatus(models.TextChoices):
    NEEDS_MESSAGE = "needs_message", "Needs first message"
    MESSAGED = "messaged", "Messaged"
    NEEDS_RESPONSE = "needs_response", "Needs response"
    CONVO = "convo", "Conversation"
    CLOSED = "closed", "Closed"


class ContactQuerySet(models.QuerySet["Contact"]):
    def for_assignment(self, assignment: Assignment | int) -> ContactQuerySet:
        return self.filter(assignment=assignment)

    def needs_message(self) -> ContactQuerySet:
        return self.filter(status=ContactStatus.NEEDS_MESSAGE, is_opted_out=False)

    def needs_response(self) -> ContactQuerySet:
        return self.filter(status=ContactStatus.NEEDS_RESPONSE, is_opted_out=False)


class Contact(models.Model):
    # No single-column indexes on these two: the composite indexes below start with them, and
    # every index costs time on a million-row import.
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="contacts", db_index=False)
    # No foreign key constraint in the database: on PostgreSQL, triggers keep the same promise
    # (migration 0004) at a cost that does not grow with a bulk assignment's size. A contact's
    # assignment must exist (checked per row, or once per statement by the bulk hand-out), and an
    # assignment contacts still point at can't be deleted; Django still sets them to NULL first.
    assignment = models.ForeignKey(
        Assignment,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="contacts",
        db_index=False,
        db_constraint=False,
    )
    first_name = models.CharField(max_length=200, blank=True)
    last_name = models.CharField(max_length=200, blank=True)
    cell = models.CharField(max_length=20, help_text="E.164, like +12025550175.")
    zip = models.CharField(max_length=12, blank=True)
    external_id = models.CharField(max_length=255, blank=True)
    custom_fields = models.JSONField(default=dict, blank=True)
    timezone = models.CharField(max_length=64, blank=True, help_text="IANA name; blank when unknown.")
    status = models.CharField(max_length=20, choices=ContactStatus.choices, default=ContactStatus.NEEDS_MESSAGE)
    is_opted_out = models.BooleanField(default=False)
    error_code = models.PositiveIntegerField(null=True, blank=True)
    # The key of the last send the texter's page made for this contact: a double click, a retried
    # request or a second tab sending the same compose box again is recognised under the row lock.
    last_send_key = models.UUIDField(null=True, blank=True, editable=False)
    tags: models.ManyToManyField[Tag, ContactTag] = models.ManyToManyField(
        Tag, through="ContactTag", related_name="contacts", blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ContactQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [
            # Cell first: the same index finds a cell in one campaign (import, API) and across an
            # organization's campaigns (opt-outs, review search), so there is no separate cell index
            # to maintain on every imported and every assigned row.
            models.UniqueConstraint(fields=["cell", "campaign"], name="contact_unique_cell_campaign")
        ]
        # On PostgreSQL this constraint's index and the primary key are filled to 50% (migration
        # 0005, outside Django's state): assigning a contact adds a second entry beside the first.
        indexes = [
            # Texter queues: "my contacts in this status", oldest change first.
            models.Index(fields=["assignment", "status", "updated_at"], name="contact_assignment_status"),
            # Organizer counts by status.
            models.Index(fields=["campaign", "status"], name="contact_campaign_status"),
            # The unassigned pool in id order (assignment, "request more"). Partial: a contact
            # leaves it when assigned, so assigning a million rows writes nothing here.
            models.Index(
                fields=["campaign", "id"],
                condition=Q(assignment__isnull=True, status="needs_message", is_opted_out=False),
                name="contact_pool",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.cell


class ContactTag(models.Model):
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE)
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["contact", "tag"], name="contacttag_unique")]

    def __str__(self) -> str:
        return f"{self.tag_id} on {self.contact_id}"


class QuestionResponse(models.Model):
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="question_responses")
    interaction_step = models.ForeignKey(InteractionStep, on_delete=models.CASCADE, related_name="responses")
    value = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contact", "interaction_step"], name="questionresponse_unique_step")
        ]

    def __str__(self) -> str:
        return self.value


class OptOutSource(models.TextChoices):
    TEXTER = "texter", "Texter"
    KEYWORD = "keyword", "Inbound keyword"
    PROVIDER = "provider", "Provider error 21610"
    ORGANIZER = "organizer", "Organizer"
    IMPORT = "import", "Import"


class OptOut(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="optouts")
    cell = models.CharField(max_length=20)
    source = models.CharField(max_length=20, choices=OptOutSource.choices)
    reason = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "opt-out"
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["organization", "cell"], name="optout_unique_org_cell")]

    def __str__(self) -> str:
        return self.cell


class OptOutEvent(models.Model):
    """Audit trail of every opt-out and opt-in: who, when, why. Never deleted."""

    class Action(models.TextChoices):
        OPT_OUT = "opt_out", "Opted out"
        OPT_IN = "opt_in", "Opted back in"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="optout_events")
    cell = models.CharField(max_length=20)
    action = models.CharField(max_length=10, choices=Action.choices)
    source = models.CharField(max_length=20, choices=OptOutSource.choices)
    reason = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organization", "cell"], name="optoutevent_org_cell")]

    def __str__(self) -> str:
        return f"{self.get_action_display()}: {self.cell}"


class JobStatus(models.TextChoices):
    PENDING = "pending", "Waiting to start"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class ImportJob(models.Model):
    """One contact upload: its file, progress and the report organizers see at the end."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="import_jobs")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    source_file = models.FileField(upload_to="imports/%Y/%m/")
    original_name = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.PENDING)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done.")
    rows_total = models.PositiveIntegerField(default=0)
    imported = models.PositiveIntegerField(default=0)
    invalid_cell = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    opted_out = models.PositiveIntegerField(default=0)
    timezone_unknown = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    rejected_file = models.FileField(upload_to="imports/rejected/%Y/%m/", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"Import {self.pk} into {self.campaign_id}"
