"""manage.py import_contacts CAMPAIGN FILE"""

from __future__ import annotations

import pathlib
import sys
import threading
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from campaigns.importing import contacts_import_file
from campaigns.management.lookups import campaign_from_arg
from campaigns.models import ImportJob, JobStatus
from core.errors import ApplicationError

BAR_WIDTH = 30


class Command(BaseCommand):
    help = (
        "Replace a campaign's unassigned contacts with a CSV file in the original Spoke format: "
        "columns firstName, lastName and cell (or their aliases), optionally zip and external_id; "
        "other columns become custom fields. Shows a progress bar, then a report: imported, invalid "
        "cells, duplicates, opted-out numbers. Exits with status 1 and the reason when the file is "
        "refused. Example: manage.py import_contacts 12 contacts.csv"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("campaign", help="The campaign's id (it must not be started or archived).")
        parser.add_argument("file", help="Path to the CSV file (UTF-8).")
        parser.add_argument("--no-progress", action="store_true", help="Print only the final report.")

    def handle(self, *args: Any, campaign: str, file: str, no_progress: bool, **options: Any) -> None:
        target = campaign_from_arg(campaign)
        path = pathlib.Path(file)
        if not path.is_file():
            raise CommandError(f"No file at {file!r}.")
        previous = ImportJob.objects.filter(campaign=target).order_by("-id").values_list("id", flat=True).first() or 0
        outcome: dict[str, Any] = {}

        def run() -> None:
            try:
                outcome["job"] = contacts_import_file(campaign=target, path=path)
            except ApplicationError as error:
                outcome["error"] = error.message
            except Exception as error:  # reported below, with the job's own message when there is one
                outcome["error"] = f"The import failed unexpectedly: {error}"
            finally:
                connection.close()

        worker = threading.Thread(target=run, name="import_contacts")
        worker.start()
        show = not no_progress
        while worker.is_alive():
            worker.join(0.5)
            if show:
                job = ImportJob.objects.filter(campaign=target, id__gt=previous).order_by("-id").first()
                if job is not None:
                    self._bar(job.progress)
        if "error" in outcome:
            raise CommandError(outcome["error"])
        job = outcome["job"]
        if show:
            self._bar(100 if job.status == JobStatus.DONE else job.progress)
            self.stderr.write("")
        if job.status != JobStatus.DONE:
            raise CommandError(job.error or "The import failed.")
        self.stdout.write(
            self.style.SUCCESS(f"Imported {job.imported} contacts into “{target.title}” (import {job.pk}).")
        )
        self.stdout.write(
            f"  rows read: {job.rows_total}\n"
            f"  invalid cell numbers: {job.invalid_cell}\n"
            f"  duplicates (the last row kept): {job.duplicates}\n"
            f"  opted out (not imported): {job.opted_out}\n"
            f"  timezone unknown: {job.timezone_unknown}"
        )
        if job.rejected_file:
            # A local path to open; on S3 the storage's name of the file.
            try:
                where = job.rejected_file.path
            except NotImplementedError:
                where = job.rejected_file.name
            self.stdout.write(f"  rejected rows, with the reason: {where}")

    def _bar(self, percent: int) -> None:
        filled = BAR_WIDTH * percent // 100
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {percent:3d}%")
        sys.stderr.flush()
