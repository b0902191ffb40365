"""manage.py export_campaign CAMPAIGN [--output DIR]"""

from __future__ import annotations

import pathlib
import sys
import threading
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.models.fields.files import FieldFile
from django.utils import timezone

from campaigns.management.lookups import campaign_from_arg
from campaigns.models import Campaign, Contact, JobStatus
from texting.exports import export_job_run, write_contacts_csv, write_messages_csv
from texting.models import ExportJob, Message

BAR_WIDTH = 30


class Command(BaseCommand):
    help = (
        "Export a campaign as two CSV files like the original Spoke's: contacts (one row each, with "
        "their texter, custom fields, tags and one column per survey question) and messages (one row "
        "each). Without --output the files go to the configured storage (MEDIA_ROOT, or S3 in "
        "production) as an export the back office and the API list, and the command prints where. "
        "With --output DIR they are written to that directory instead. Shows a progress bar, then how "
        "many rows each file holds. Exits with status 1 and the reason when it can't. "
        "Example: manage.py export_campaign 12 --output exports/"
    )

    show = True

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("campaign", help="The campaign's id (the back office shows it in the address).")
        parser.add_argument(
            "--output",
            "-o",
            metavar="DIR",
            help="Write the two CSV files into this directory (created if missing) instead of the storage.",
        )
        parser.add_argument("--no-progress", action="store_true", help="Print only the final report.")

    def handle(self, *args: Any, campaign: str, output: str | None, no_progress: bool, **options: Any) -> None:
        target = campaign_from_arg(campaign)
        self.show = not no_progress
        if output is not None:
            self._to_directory(target, self._directory(output))
        else:
            self._to_storage(target)

    # --- into a directory

    def _directory(self, output: str) -> pathlib.Path:
        directory = pathlib.Path(output).expanduser()
        if directory.exists() and not directory.is_dir():
            raise CommandError(f"{output!r} is a file, not a directory: give --output a directory to write into.")
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise CommandError(f"Can't create the directory {output!r}: {error.strerror}.") from error
        return directory

    def _to_directory(self, campaign: Campaign, directory: pathlib.Path) -> None:
        total = Contact.objects.filter(campaign=campaign).count() + Message.objects.filter(campaign=campaign).count()
        done, shown = 0, -1

        def on_row() -> None:
            nonlocal done, shown
            done += 1
            percent = done * 100 // max(total, 1)
            if self.show and percent != shown:
                shown = percent
                self._bar(percent)

        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        written: list[tuple[pathlib.Path, int]] = []
        for name, write in (("contacts", write_contacts_csv), ("messages", write_messages_csv)):
            path = directory / f"campaign-{campaign.pk}-{name}-{stamp}.csv"
            try:
                # Excel opens UTF-8 with a BOM correctly; everything else ignores it.
                with path.open("w", encoding="utf-8-sig", newline="") as out:
                    rows = write(campaign=campaign, out=out, on_row=on_row)
            except OSError as error:
                path.unlink(missing_ok=True)
                for earlier, _ in written:
                    earlier.unlink(missing_ok=True)
                raise CommandError(f"Can't write {path}: {error.strerror}.") from error
            written.append((path, rows))
        if self.show:
            self._bar(100)
            self.stderr.write("")
        (contacts_path, contacts), (messages_path, messages) = written
        self._report(campaign, contacts, messages, str(contacts_path), str(messages_path))

    # --- into the storage, as an export the back office and the API list

    def _to_storage(self, campaign: Campaign) -> None:
        job = ExportJob.objects.create(campaign=campaign)
        outcome: dict[str, str] = {}

        def run() -> None:
            try:
                export_job_run(export_job_id=job.pk)  # records a failure on the job itself
            except Exception as error:  # reported below
                outcome["error"] = f"The export failed unexpectedly: {error}"
            finally:
                connection.close()

        worker = threading.Thread(target=run, name="export_campaign")
        worker.start()
        while worker.is_alive():
            worker.join(0.5)
            if self.show:
                self._bar(ExportJob.objects.filter(pk=job.pk).values_list("progress", flat=True).first() or 0)
        job.refresh_from_db()
        if "error" in outcome:
            raise CommandError(outcome["error"])
        if job.status != JobStatus.DONE:
            raise CommandError(job.error or "The export failed.")
        if self.show:
            self._bar(100)
            self.stderr.write("")
        contacts = Contact.objects.filter(campaign=campaign).count()
        messages = Message.objects.filter(campaign=campaign).count()
        self._report(campaign, contacts, messages, _where(job.contacts_file), _where(job.messages_file))
        self.stdout.write(
            f"  export {job.pk}: also listed on the campaign's Results page and at /api/v1/exports/{job.pk}/"
        )

    # --- output

    def _report(self, campaign: Campaign, contacts: int, messages: int, contacts_at: str, messages_at: str) -> None:
        self.stdout.write(
            self.style.SUCCESS(
                f"Exported “{campaign.title}” (campaign {campaign.pk}): {contacts} contacts, {messages} messages."
            )
        )
        self.stdout.write(f"  contacts: {contacts_at}\n  messages: {messages_at}")

    def _bar(self, percent: int) -> None:
        filled = BAR_WIDTH * percent // 100
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {percent:3d}%")
        sys.stderr.flush()


def _where(file: FieldFile) -> str:
    """A local path to open; on S3 and the like, the storage's name and its URL."""
    try:
        return file.path
    except NotImplementedError:
        try:
            return f"{file.name} ({file.url})"
        except NotImplementedError:
            return file.name or ""
