"""manage.py optouts import ORGANIZATION FILE | optouts export ORGANIZATION [--output FILE]"""

from __future__ import annotations

import csv
import pathlib
import sys
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from accounts.management.lookups import organization_from_arg
from accounts.models import Organization
from campaigns.models import OptOut, OptOutSource
from campaigns.phones import normalize_cell
from campaigns.services import optout_create
from core.spreadsheets import spreadsheet_safe

CELL_HEADERS = ("cell", "phone", "number", "mobile", "phone_number")


class Command(BaseCommand):
    help = (
        "Import or export an organization's opt-outs (numbers never to text). "
        "`optouts import ORG FILE` reads a CSV with a cell column (also phone, number, mobile) and an "
        "optional reason column, opts each valid number out and closes its open contacts. "
        "`optouts export ORG [--output FILE]` writes cell, source, reason and date as CSV (to stdout "
        "without --output). ORG is the organization's id or exact name. "
        "Examples: manage.py optouts import 'Vote Forward' stops.csv ; manage.py optouts export 3 -o optouts.csv"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{import,export}")
        importing = sub.add_parser("import", help="Opt out every number in a CSV file.")
        importing.add_argument("organization", help="The organization's id or exact name.")
        importing.add_argument("file", help="CSV with a `cell` column, optionally `reason`.")
        exporting = sub.add_parser("export", help="Write the organization's opt-outs as CSV.")
        exporting.add_argument("organization", help="The organization's id or exact name.")
        exporting.add_argument("--output", "-o", default="", help="File to write (default: standard output).")

    def handle(self, *args: Any, action: str, organization: str, **options: Any) -> None:
        org = organization_from_arg(organization)
        if action == "import":
            self._import(org, pathlib.Path(options["file"]))
        else:
            self._export(org, options["output"])

    def _import(self, organization: Organization, path: pathlib.Path) -> None:
        if not path.is_file():
            raise CommandError(f"No file at {str(path)!r}.")
        try:
            with path.open(newline="", encoding="utf-8-sig") as handle:
                reader = csv.DictReader(handle)
                headers = {name.strip().lower(): name for name in reader.fieldnames or []}
                column = next((headers[h] for h in CELL_HEADERS if h in headers), None)
                if column is None:
                    raise CommandError(f"The file has no cell column. Accepted headers: {', '.join(CELL_HEADERS)}.")
                reason_column = headers.get("reason")
                added = invalid = 0
                for row in reader:
                    cell = normalize_cell(row.get(column) or "")
                    if cell is None:
                        invalid += 1
                        continue
                    reason = (row.get(reason_column) or "") if reason_column else ""
                    optout_create(
                        organization=organization, cell=cell, source=OptOutSource.IMPORT, reason=reason or "imported"
                    )
                    added += 1
        except UnicodeDecodeError as error:
            raise CommandError("The file is not UTF-8 text: save it as 'CSV UTF-8' and try again.") from error
        self.stdout.write(
            self.style.SUCCESS(f"Opted out {added} number{'' if added == 1 else 's'} in {organization.name}.")
        )
        if invalid:
            self.stdout.write(f"Skipped {invalid} row{'' if invalid == 1 else 's'} without a valid phone number.")

    def _export(self, organization: Organization, output: str) -> None:
        handle = open(output, "w", newline="", encoding="utf-8") if output else sys.stdout
        try:
            writer = csv.writer(handle)
            writer.writerow(["cell", "source", "reason", "created_at"])
            rows = OptOut.objects.filter(organization=organization).order_by("id")
            count = 0
            for cell, source, reason, created_at in rows.values_list(
                "cell", "source", "reason", "created_at"
            ).iterator():
                writer.writerow([cell, source, spreadsheet_safe(reason), created_at.isoformat()])
                count += 1
        finally:
            if output:
                handle.close()
        if output:
            self.stdout.write(self.style.SUCCESS(f"Wrote {count} opt-outs to {output}."))
