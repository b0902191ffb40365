"""Campaign exports: two CSV files like the original Spoke's, written by a background job.

- contacts: one row per contact with its texter, its custom fields (one column each), its tags
  and one column per survey question;
- messages: one row per message.

Both are streamed from the database (`iterator(chunk_size=...)`: a server-side cursor on
PostgreSQL) into temporary files and then stored through Django's storage (django-storages in
production), so memory stays constant however large the campaign. A cell that a spreadsheet would
run as a formula (starting with =, +, -, @) is neutralized with a leading apostrophe.
"""

from __future__ import annotations

import csv
import io
import logging
import tempfile
from collections.abc import Iterable, Iterator
from typing import IO, Any

from django.core.files import File
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from campaigns.models import Campaign, Contact, InteractionStep, JobStatus
from campaigns.selectors import campaign_custom_field_keys, interaction_steps_in_tree_order
from core.errors import ApplicationError
from core.jobs import enqueue
from core.live import campaign_group, publish_on_commit
from core.spreadsheets import spreadsheet_safe
from texting.errors import describe
from texting.models import ExportJob, Message

logger = logging.getLogger(__name__)

CHUNK = 2_000


def export_start(*, campaign: Campaign, acting_user: User | None) -> ExportJob:
    running = ExportJob.objects.filter(campaign=campaign, status__in=[JobStatus.PENDING, JobStatus.RUNNING]).first()
    if running is not None:
        raise ApplicationError("An export of this campaign is already running: its link appears here when it's done.")
    with transaction.atomic():
        job = ExportJob.objects.create(campaign=campaign, created_by=acting_user)
        enqueue(export_job_run, queue="default", export_job_id=job.pk)
    return job


def export_job_run(*, export_job_id: int) -> None:
    """The job: never leaves an export "running" forever; a failure is recorded with its reason."""
    job = ExportJob.objects.select_related("campaign").get(pk=export_job_id)
    try:
        export_run(job=job)
    except Exception as error:  # recorded on the job for the organizer, and logged in full
        logger.exception("Export %s failed", job.pk)
        ExportJob.objects.filter(pk=job.pk).update(
            status=JobStatus.FAILED, error=f"The export failed: {error}", finished_at=timezone.now()
        )
        _publish(job, JobStatus.FAILED, job.progress)


def _publish(job: ExportJob, status: str, progress: int) -> None:
    publish_on_commit(
        campaign_group(job.campaign_id), "export_progress", export_id=job.pk, status=status, progress=progress
    )


class _Progress:
    """Writes the job's percentage (and tells the page) at most once per percent step."""

    def __init__(self, job: ExportJob, total: int) -> None:
        self.job, self.total, self.done, self.last = job, max(total, 1), 0, -1

    def step(self, rows: int = 1) -> None:
        self.done += rows
        percent = min(99, self.done * 100 // self.total)
        if percent >= self.last + 2:
            self.last = percent
            ExportJob.objects.filter(pk=self.job.pk).update(progress=percent)
            _publish(self.job, JobStatus.RUNNING, percent)


def export_run(*, job: ExportJob) -> ExportJob:
    campaign = job.campaign
    ExportJob.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, progress=0, error="")
    _publish(job, JobStatus.RUNNING, 0)
    contacts = Contact.objects.filter(campaign=campaign)
    messages = Message.objects.filter(campaign=campaign)
    progress = _Progress(job, contacts.count() + messages.count())
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    for field, name, write in (
        (job.contacts_file, "contacts", write_contacts_csv),
        (job.messages_file, "messages", write_messages_csv),
    ):
        with tempfile.TemporaryFile() as raw:
            # Excel opens UTF-8 with a BOM correctly; everything else ignores it.
            text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
            write(campaign=campaign, out=text, on_row=progress.step)
            text.flush()
            raw.seek(0)
            field.save(f"campaign-{campaign.pk}-{name}-{stamp}.csv", File(raw), save=False)
            text.detach()
    job.status = JobStatus.DONE
    job.progress = 100
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "progress", "finished_at", "contacts_file", "messages_file"])
    _publish(job, JobStatus.DONE, 100)
    return job


def _survey_columns(campaign: Campaign) -> list[tuple[int, str]]:
    """(question step id, column name) for each question of the script, in tree order."""
    steps = list(InteractionStep.objects.filter(campaign=campaign))
    columns: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    for step, _path in interaction_steps_in_tree_order(steps=steps):
        if not step.question:
            continue
        name = step.question
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:  # the same question asked after two answers: two columns
            name = f"{name} ({seen[name]})"
        columns.append((step.pk, name))
    return columns


CONTACT_COLUMNS = [
    "campaignId",
    "campaign",
    "contactId",
    "firstName",
    "lastName",
    "cell",
    "zip",
    "external_id",
    "timezone",
    "status",
    "optedOut",
    "errorCode",
    "texter",
    "texterEmail",
]


def write_contacts_csv(*, campaign: Campaign, out: IO[str], on_row: Any = None) -> int:
    custom = campaign_custom_field_keys(campaign=campaign)
    questions = _survey_columns(campaign)
    writer = csv.writer(out)
    writer.writerow(
        [spreadsheet_safe(name) for name in [*CONTACT_COLUMNS, *custom, "tags", *(name for _, name in questions)]]
    )
    rows = (
        Contact.objects.filter(campaign=campaign)
        .select_related("assignment__texter")
        .prefetch_related("contacttag_set__tag", "question_responses")
        .order_by("id")
        .iterator(chunk_size=CHUNK)
    )
    written = 0
    for contact in rows:
        texter = contact.assignment.texter if contact.assignment else None
        answers = {answer.interaction_step_id: answer.value for answer in contact.question_responses.all()}
        tags = sorted(link.tag.name for link in contact.contacttag_set.all())
        fields = contact.custom_fields or {}
        writer.writerow(
            [
                spreadsheet_safe(value)
                for value in [
                    campaign.pk,
                    campaign.title,
                    contact.pk,
                    contact.first_name,
                    contact.last_name,
                    contact.cell,
                    contact.zip,
                    contact.external_id,
                    contact.timezone,
                    contact.status,
                    "true" if contact.is_opted_out else "false",
                    contact.error_code or "",
                    f"{texter.first_name} {texter.last_name}".strip() if texter else "",
                    texter.email if texter else "",
                    *(fields.get(key, "") for key in custom),
                    "; ".join(tags),
                    *(answers.get(step_id, "") for step_id, _ in questions),
                ]
            ]
        )
        written += 1
        if on_row is not None:
            on_row()
    return written


MESSAGE_COLUMNS = [
    "messageId",
    "campaignId",
    "contactId",
    "direction",
    "from",
    "to",
    "body",
    "status",
    "errorCode",
    "errorDescription",
    "segments",
    "texter",
    "texterEmail",
    "createdAt",
    "sentAt",
    "deliveredAt",
]


def _iso(value: Any) -> str:
    return value.isoformat() if value else ""


def write_messages_csv(*, campaign: Campaign, out: IO[str], on_row: Any = None) -> int:
    writer = csv.writer(out)
    writer.writerow(MESSAGE_COLUMNS)
    rows: Iterable[Message] = (
        Message.objects.filter(campaign=campaign).select_related("texter").order_by("id").iterator(chunk_size=CHUNK)
    )
    written = 0
    for message in rows:
        info = describe(message.error_code)
        texter = message.texter
        writer.writerow(
            [
                spreadsheet_safe(value)
                for value in [
                    message.pk,
                    campaign.pk,
                    message.contact_id or "",
                    message.direction,
                    message.from_number,
                    message.to_number,
                    message.body,
                    message.status,
                    message.error_code or "",
                    info.description if info else "",
                    message.segments,
                    f"{texter.first_name} {texter.last_name}".strip() if texter else "",
                    texter.email if texter else "",
                    _iso(message.created_at),
                    _iso(message.sent_at),
                    _iso(message.delivered_at),
                ]
            ]
        )
        written += 1
        if on_row is not None:
            on_row()
    return written


def iter_lines(file: IO[bytes]) -> Iterator[bytes]:
    """A stored export, read back in pieces for a download response."""
    while chunk := file.read(64 * 1024):
        yield chunk
