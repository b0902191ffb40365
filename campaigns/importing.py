"""Contact import from the original Spoke's CSV format.

An organizer uploads a CSV with `firstName`, `lastName` and `cell` columns (or one of their
aliases), optionally `zip` and `external_id`; every other column becomes a custom field usable
as `{column}` in scripts. The upload is checked quickly and stored (`contacts_import_start`), then
a job reads it as a stream (`contacts_import_run`) and replaces the campaign's unassigned
contacts in one transaction, so a failed import leaves the previous list as it was.

The original Spoke parsed uploads in the browser and fell over above ~20k rows; here the file is
never held in memory: only one dict entry per distinct cell number is kept, for de-duplication.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import logging
import pathlib
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import IO, Any

from django.conf import settings
from django.core.files import File
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, models, transaction
from django.utils import timezone

from accounts.models import User
from campaigns import jobs as campaign_jobs
from campaigns.hours import contact_timezone
from campaigns.models import (
    Campaign,
    Contact,
    ContactStatus,
    ContactTag,
    ImportJob,
    JobStatus,
    OptOut,
    QuestionResponse,
)
from campaigns.phones import normalize_cell
from core.errors import ApplicationError
from core.jobs import enqueue
from core.live import campaign_group, publish_on_commit
from core.spreadsheets import spreadsheet_safe

logger = logging.getLogger(__name__)

# The original Spoke's header aliases, matched case-insensitively after trimming spaces.
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "firstName": ("first", "firstname", "givenname", "name"),
    "lastName": ("last", "lastname", "last_name", "familyname", "surname"),
    "cell": ("mobile", "number", "phone", "phone_number", "cellphone", "cell_phone", "mobilenumber"),
    "zip": ("zipcode", "postalcode", "ziporpostal", "ziporpost"),
    "external_id": ("externalid",),
}
REQUIRED_FIELDS = ("firstName", "lastName", "cell")
_FIELD_LABELS = {"firstName": "first name", "lastName": "last name", "cell": "cell phone"}

NOT_UTF8_MESSAGE = "The file is not UTF-8 text: save it as 'CSV UTF-8' and upload again."
STARTED_MESSAGE = "This campaign has started: its contacts can't be replaced."
ARCHIVED_MESSAGE = "This campaign is archived: its contacts can't be replaced."

INSERT_CHUNK_ROWS = 2_000  # rows per INSERT statement (the ORM path)
WRITE_CHUNK_ROWS = 10_000  # rows per COPY, and per round of the write loop
PROGRESS_EVERY_ROWS = 5_000
# Reading the file is all the progress other connections can see: the replace transaction's
# writes stay invisible until it commits, so it owns the last stretch of the bar.
_PARSE_PROGRESS_SHARE = 90
_READ_BUFFER_BYTES = 64 * 1024


def _max_length(field_name: str) -> int:
    field = Contact._meta.get_field(field_name)
    assert isinstance(field, models.CharField) and field.max_length
    return field.max_length


# Longer values are cut rather than failing a million-row import on PostgreSQL's length check.
_NAME_MAX = _max_length("first_name")
_ZIP_MAX = _max_length("zip")
_EXTERNAL_ID_MAX = _max_length("external_id")


@dataclass
class ImportReport:
    """The counts of one import, as organizers see them at the end.

    `rows_total` (non-blank data rows) = `imported` + `invalid_cell` + `duplicates` + `opted_out`;
    `timezone_unknown` counts imported contacts whose timezone neither zip nor number tells.
    """

    rows_total: int = 0
    imported: int = 0
    invalid_cell: int = 0
    duplicates: int = 0
    opted_out: int = 0
    timezone_unknown: int = 0

    @classmethod
    def from_job(cls, job: ImportJob) -> ImportReport:
        return cls(**{name: getattr(job, name) for name in asdict(cls())})

    def as_fields(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class _Columns:
    """Where each contact field sits in a row, decided once from the header."""

    width: int
    first_name: int
    last_name: int
    cell: int
    zip: int | None
    external_id: int | None
    custom_names: tuple[str, ...]
    custom_indexes: tuple[int, ...]

    @property
    def kept_indexes(self) -> tuple[int, ...]:
        """The columns kept for each row, in the order of `staged_names`."""
        optional = tuple(index for index in (self.zip, self.external_id) if index is not None)
        return (self.first_name, self.last_name, *optional, *self.custom_indexes)

    @property
    def staged_names(self) -> tuple[str, ...]:
        """The staging table's columns for the kept values: custom fields are c0, c1, …"""
        optional = tuple(
            name for name, index in (("zip", self.zip), ("external_id", self.external_id)) if index is not None
        )
        return ("first_name", "last_name", *optional, *(f"c{i}" for i in range(len(self.custom_indexes))))


# --- Public services ---------------------------------------------------------------------------


def contacts_import_start(
    *,
    campaign: Campaign,
    uploaded_file: File[bytes] | UploadedFile,
    original_name: str,
    acting_user: User | None,
) -> ImportJob:
    """Check an upload, store it and queue the import; returns the pending `ImportJob`.

    Refuses with `ApplicationError` (the message is for the organizer) when the campaign has
    started or is archived, the file is over `settings.CONTACT_UPLOAD_MAX_BYTES`, empty, does not
    begin as UTF-8 text, or its header lacks a required column. Rows are checked by the job.
    The caller checks that `acting_user` may manage the campaign.
    """
    with transaction.atomic():
        job = _import_job_create(
            campaign=campaign, uploaded_file=uploaded_file, original_name=original_name, acting_user=acting_user
        )
        enqueue(campaign_jobs.import_contacts, queue="imports", job_id=f"import-{job.pk}", import_job_id=job.pk)
    return job


def contacts_import_run(*, import_job_id: int) -> ImportJob:
    """The import job's body: parse the stored file and replace the campaign's contacts.

    Claims the job (pending → running) so a job delivered twice runs once; a job that is not
    pending is returned untouched. Never raises for a bad file: any failure marks the job failed
    with an `error` the organizer can act on, and the previous contacts stay as they were.
    Raises `ImportJob.DoesNotExist` when the job (or its campaign) was deleted.
    """
    claimed = ImportJob.objects.filter(pk=import_job_id, status=JobStatus.PENDING).update(status=JobStatus.RUNNING)
    job = ImportJob.objects.select_related("campaign").get(pk=import_job_id)
    if not claimed:
        return job
    report = ImportReport()
    try:
        _import(job=job, report=report)
    except ApplicationError as error:
        _fail(job=job, report=report, error=error.message)
    except UnicodeDecodeError:
        _fail(job=job, report=report, error=NOT_UTF8_MESSAGE)
    except csv.Error as error:
        _fail(job=job, report=report, error=f"The file could not be read as CSV ({error}). Check it and upload again.")
    except Exception:
        # The organizer gets a stable message; the traceback goes to the logs, not to them.
        logger.exception("Contact import %s failed", import_job_id)
        _fail(
            job=job,
            report=report,
            error=f"The import failed unexpectedly (import {job.pk}); the previous contacts are kept. Try again.",
        )
    return job


def contacts_import_file(*, campaign: Campaign, path: str | pathlib.Path, acting_user: User | None = None) -> ImportJob:
    """Import a local CSV file synchronously (seed data, management commands, tests).

    Raises `ApplicationError` for whatever `contacts_import_start` refuses (started campaign,
    size, missing column); any later failure comes back as a job with status `failed`.
    """
    local_path = pathlib.Path(path)
    with local_path.open("rb") as handle:
        job = _import_job_create(
            campaign=campaign,
            uploaded_file=File(handle, name=local_path.name),
            original_name=local_path.name,
            acting_user=acting_user,
        )
    return contacts_import_run(import_job_id=job.pk)


# --- Checks ------------------------------------------------------------------------------------


def _check_campaign_open(campaign: Campaign) -> None:
    # Texters' queues and sent messages refer to the contacts of a started campaign.
    if campaign.is_started:
        raise ApplicationError(STARTED_MESSAGE, code="campaign_started")
    if campaign.is_archived:
        raise ApplicationError(ARCHIVED_MESSAGE, code="campaign_archived")


def _human_size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    value = float(size)
    for unit in ("KB", "MB", "GB"):
        value /= 1024
        if value < 1024 or unit == "GB":
            break
    return f"{value:.1f}".removesuffix(".0") + f" {unit}"


def _missing_column_message(field: str) -> str:
    accepted = ", ".join((field, *FIELD_ALIASES[field]))
    return f"The file has no {_FIELD_LABELS[field]} column ({field}). Accepted headers: {accepted}."


def _map_header(header: list[str]) -> _Columns:
    """Find the contact fields among the header's columns, or refuse naming the missing ones.

    When several columns could be a field, the canonical name wins, else the first alias in file
    order; the other columns stay custom fields under their own header.
    """
    names = [name.strip() for name in header]
    lowered = [name.lower() for name in names]
    found: dict[str, int] = {}
    for field, aliases in FIELD_ALIASES.items():
        canonical = field.lower()
        if canonical in lowered:
            found[field] = lowered.index(canonical)
            continue
        for index, name in enumerate(lowered):
            if name in aliases:
                found[field] = index
                break
    missing = [field for field in REQUIRED_FIELDS if field not in found]
    if missing:
        raise ApplicationError(" ".join(_missing_column_message(f) for f in missing), code="missing_column")
    used = set(found.values())
    # Columns without a header (Excel's trailing empty columns) have no name to use in a script.
    custom = [(name, index) for index, name in enumerate(names) if index not in used and name]
    return _Columns(
        width=len(names),
        first_name=found["firstName"],
        last_name=found["lastName"],
        cell=found["cell"],
        zip=found.get("zip"),
        external_id=found.get("external_id"),
        custom_names=tuple(name for name, _ in custom),
        custom_indexes=tuple(index for _, index in custom),
    )


# --- Reading -----------------------------------------------------------------------------------


class _CountingReader(io.RawIOBase):
    """A raw stream over any object with `read(n)` (a local file, an upload, an S3 object) that
    counts the bytes read, so progress is measured without asking the text layer for positions."""

    def __init__(self, source: IO[bytes] | File[bytes]) -> None:
        super().__init__()
        self._source = source
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._source.read(len(buffer))
        size = len(data)
        buffer[:size] = data
        self.bytes_read += size
        return size


def _text_stream(source: IO[bytes] | File[bytes]) -> tuple[io.TextIOWrapper, _CountingReader]:
    counter = _CountingReader(source)
    # utf-8-sig drops Excel's byte-order mark; newline="" lets csv handle \r\n and quoted newlines.
    text = io.TextIOWrapper(
        io.BufferedReader(counter, buffer_size=_READ_BUFFER_BYTES), encoding="utf-8-sig", newline=""
    )
    return text, counter


def _first_row(reader: Iterator[list[str]]) -> list[str]:
    for row in reader:
        if any(value.strip() for value in row):
            return row
    raise ApplicationError("The file is empty: it has no header row.", code="empty_file")


def _read_header(uploaded_file: File[bytes] | UploadedFile) -> list[str]:
    uploaded_file.seek(0)
    text, _ = _text_stream(uploaded_file)
    try:
        return _first_row(csv.reader(text))
    except UnicodeDecodeError as error:
        raise ApplicationError(NOT_UTF8_MESSAGE, code="not_utf8") from error
    except csv.Error as error:
        raise ApplicationError(f"The file could not be read as CSV ({error}).", code="not_csv") from error
    finally:
        # Detaching leaves the upload open for storing it; the wrapper would close it otherwise.
        text.detach()
        uploaded_file.seek(0)


class _RejectedRows:
    """The rows that were not imported, with the original columns and a `reason`, written to a
    temporary file as they are found (there may be many) and stored on the job at the end."""

    def __init__(self, header: list[str]) -> None:
        self.width = len(header)
        self._file = tempfile.TemporaryFile()
        # With a byte-order mark, Excel opens non-ASCII names correctly; the import accepts it back.
        self._text = io.TextIOWrapper(self._file, encoding="utf-8-sig", newline="")
        self._writer = csv.writer(self._text)
        self._writer.writerow([spreadsheet_safe(name) for name in header] + ["reason"])

    def add(self, row: list[str], reason: str) -> None:
        values = row[: self.width] + [""] * (self.width - len(row))
        self._writer.writerow([spreadsheet_safe(value) for value in values] + [reason])

    def save_to(self, job: ImportJob) -> None:
        self._text.flush()
        self._file.seek(0)
        job.rejected_file.save(f"import-{job.pk}-rejected.csv", File(self._file), save=False)

    def close(self) -> None:
        self._text.close()


# --- The job -----------------------------------------------------------------------------------


def _import_job_create(
    *,
    campaign: Campaign,
    uploaded_file: File[bytes] | UploadedFile,
    original_name: str,
    acting_user: User | None,
) -> ImportJob:
    _check_campaign_open(campaign)
    size = uploaded_file.size or 0
    limit = settings.CONTACT_UPLOAD_MAX_BYTES
    if size > limit:
        raise ApplicationError(
            f"The file is {_human_size(size)}; the limit for a contact list is {_human_size(limit)}.",
            code="file_too_large",
        )
    if size == 0:
        raise ApplicationError("The file is empty.", code="empty_file")
    _map_header(_read_header(uploaded_file))
    job = ImportJob(campaign=campaign, created_by=acting_user, original_name=original_name[:255])
    # The stored name is ours: the organizer's file name is kept in `original_name`.
    job.source_file.save(f"campaign-{campaign.pk}.csv", uploaded_file, save=False)
    job.save()
    return job


def _import(*, job: ImportJob, report: ImportReport) -> None:
    _check_campaign_open(job.campaign)
    rejected: _RejectedRows | None = None
    staging: _Staging | None = None
    try:
        with job.source_file.open("rb") as source:
            text, counter = _text_stream(source)
            with text:
                reader = csv.reader(text)
                header = _first_row(reader)
                columns = _map_header(header)
                rejected = _RejectedRows(header)
                staging = _Staging(job_id=job.pk, columns=columns)
                _read_rows(
                    job=job,
                    reader=reader,
                    columns=columns,
                    report=report,
                    rejected=rejected,
                    counter=counter,
                    staging=staging,
                )
        _set_progress(job=job, report=report, percent=_PARSE_PROGRESS_SHARE)
        if report.invalid_cell:
            rejected.save_to(job)
            ImportJob.objects.filter(pk=job.pk).update(rejected_file=job.rejected_file.name)
        _replace_contacts(job=job, staging=staging, report=report)
    finally:
        if rejected is not None:
            rejected.close()
        if staging is not None:
            staging.drop()


def _read_rows(
    *,
    job: ImportJob,
    reader: Iterator[list[str]],
    columns: _Columns,
    report: ImportReport,
    rejected: _RejectedRows,
    counter: _CountingReader,
    staging: _Staging,
) -> None:
    """Read every data row into the staging table: valid rows with their cell in E.164 and their
    timezone, invalid ones into the rejected rows. Nothing is kept in memory past a chunk.

    The loop runs once per row of files with millions of them, so it works on locals and does
    only what each row needs; blank rows are recognised only when their cell is empty.
    """
    width = columns.width
    cell_i = columns.cell
    zip_i = columns.zip
    kept = columns.kept_indexes
    strip = str.strip
    add = staging.add
    total_bytes = max(job.source_file.size, 1)
    rows_total = invalid = 0
    next_progress = PROGRESS_EVERY_ROWS
    for row in reader:
        if len(row) < width:
            if not row:
                continue
            row = row + [""] * (width - len(row))  # a padded copy: short rows are rare
        cell = normalize_cell(row[cell_i])
        if cell is None:
            raw_cell = row[cell_i].strip()
            if not raw_cell and not any(value.strip() for value in row):
                continue
            rows_total += 1
            invalid += 1
            rejected.add(row, "not a valid cell number" if raw_cell else "no cell number")
        else:
            rows_total += 1
            zip_code = row[zip_i].strip() if zip_i is not None else ""
            add(
                (
                    rows_total,
                    cell,
                    contact_timezone(zip_code=zip_code, cell=cell),
                    *map(strip, map(row.__getitem__, kept)),
                )
            )
        if rows_total >= next_progress:
            next_progress += PROGRESS_EVERY_ROWS
            report.rows_total, report.invalid_cell = rows_total, invalid
            percent = min(counter.bytes_read * _PARSE_PROGRESS_SHARE // total_bytes, _PARSE_PROGRESS_SHARE - 1)
            staging.flush()
            _set_progress(job=job, report=report, percent=percent)
    staging.flush()
    report.rows_total, report.invalid_cell = rows_total, invalid


# --- Staging: the file's valid rows in a temporary table, then set-based SQL ---------------------


def _without_control(value: str) -> str:
    # PostgreSQL text can't hold NUL; the unit separator, which split values in earlier versions
    # of the import, becomes a space as it always did.
    return value.replace("\x1f", " ").replace("\x00", "")


class _Staging:
    """One file's valid rows in a temporary table of this database connection, duplicates
    included: `line` (the row's number in the file), `cell` (E.164), `timezone`, then the kept
    values as text (`columns.staged_names`).

    On PostgreSQL (psycopg2) the rows go in with COPY and custom fields stay one column each, made
    into JSON by the database at the end; elsewhere (SQLite) plain INSERTs, with the custom fields
    as JSON text. The same statements then de-duplicate, drop opted-out and kept cells, and copy
    what is left into the contacts table. Rows wait in memory only until the next `flush`.
    """

    def __init__(self, *, job_id: int, columns: _Columns) -> None:
        self.columns = columns
        self.table = connection.ops.quote_name(f"import_rows_{job_id}")
        with connection.cursor() as cursor:
            self.use_copy = connection.vendor == "postgresql" and hasattr(cursor, "copy_expert")
        names = columns.staged_names
        if not self.use_copy and columns.custom_names:
            names = (*names[: -len(columns.custom_names)], "custom_fields")
        self.value_names = names
        self._rows: list[tuple[Any, ...]] = []
        column_list = ", ".join(f"{name} text NOT NULL" for name in ("cell", "timezone", *names))
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {self.table}")
            cursor.execute(f"CREATE TEMPORARY TABLE {self.table} (line integer NOT NULL, {column_list})")

    def add(self, row: tuple[Any, ...]) -> None:
        self._rows.append(row)

    def flush(self) -> None:
        if not self._rows:
            return
        rows, self._rows = self._rows, []
        if self.use_copy:
            _copy_contacts(table=self.table, names=("line", "cell", "timezone", *self.value_names), rows=rows)
        else:
            _insert_contacts(table=self.table, columns=self.columns, rows=rows)

    def drop(self) -> None:
        self._rows = []
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {self.table}")

    def delete_earlier_duplicates(self) -> int:
        """Keep only the last row of each cell (the last row wins); returns how many went."""
        if not self.use_copy:
            # SQLite has no hash join: an index keeps these lookups from scanning the table.
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE INDEX {self.table[:-1]}_cell" ON {self.table} (cell, line)')
        # A window over the sorted rows: linear-logarithmic however many times a cell repeats.
        ranked = f"SELECT line, ROW_NUMBER() OVER (PARTITION BY cell ORDER BY line DESC) AS n FROM {self.table}"  # noqa: S608
        return self._execute(f"DELETE FROM {self.table} WHERE line IN (SELECT line FROM ({ranked}) AS r WHERE n > 1)")  # noqa: S608

    def delete_cells_in(self, *, subquery: str, params: list[Any]) -> int:
        return self._execute(f"DELETE FROM {self.table} WHERE cell IN ({subquery})", params)  # noqa: S608

    def count_unknown_timezones(self) -> int:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM {self.table} WHERE timezone = ''")  # noqa: S608
            return int(cursor.fetchone()[0])

    def insert_contacts(self, *, campaign_id: int, now: datetime.datetime) -> int:
        """Copy the rows left into the campaign's contacts, in file order; returns how many."""
        quote = connection.ops.quote_name
        present = set(self.value_names)
        values = [
            f"SUBSTR(first_name, 1, {_NAME_MAX})",
            f"SUBSTR(last_name, 1, {_NAME_MAX})",
            "cell",
            f"SUBSTR(zip, 1, {_ZIP_MAX})" if "zip" in present else "''",
            f"SUBSTR(external_id, 1, {_EXTERNAL_ID_MAX})" if "external_id" in present else "''",
        ]
        params: list[Any] = [campaign_id]
        custom_names = list(self.columns.custom_names)
        if not custom_names:
            values.append("%s")
            params.append("{}")
        elif self.use_copy:
            # jsonb_object takes any number of keys; a repeated header keeps its last column's value.
            staged = ", ".join(f"c{i}" for i in range(len(custom_names)))
            values.append(f"jsonb_object(%s::text[], ARRAY[{staged}]::text[])")
            params.append(custom_names)
        else:
            values.append("custom_fields")
        params += [ContactStatus.NEEDS_MESSAGE.value, False, now, now]
        fields = ", ".join(quote(_column(name)) for name in _INSERT_FIELDS)
        return self._execute(
            f"INSERT INTO {quote(Contact._meta.db_table)} ({fields}) "  # noqa: S608 (our own names only)
            f"SELECT %s, {', '.join(values)}, timezone, %s, %s, %s, %s FROM {self.table} ORDER BY line",
            params,
        )

    def _execute(self, sql: str, params: list[Any] | None = None) -> int:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return int(cursor.rowcount)


# The contact columns the final INSERT … SELECT fills, in order.
_INSERT_FIELDS = (
    "campaign",
    "first_name",
    "last_name",
    "cell",
    "zip",
    "external_id",
    "custom_fields",
    "timezone",
    "status",
    "is_opted_out",
    "created_at",
    "updated_at",
)


def _column(field_name: str) -> str:
    field = Contact._meta.get_field(field_name)
    assert isinstance(field, models.Field) and field.column
    return field.column


def _copy_contacts(*, table: str, names: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    """Stage rows with PostgreSQL's COPY: no per-value SQL compilation, no INSERT parsing, and a
    temporary table writes no WAL."""
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    data = buffer.getvalue()
    if "\x00" in data or "\x1f" in data:
        data = _without_control(data)
    # FORCE_NOT_NULL: an empty value is an empty string, never NULL.
    column_list = ", ".join(names)
    with connection.cursor() as cursor:
        cursor.copy_expert(
            f"COPY {table} ({column_list}) FROM STDIN WITH (FORMAT csv, FORCE_NOT_NULL ({column_list}))",
            io.StringIO(data),
        )


def _insert_contacts(*, table: str, columns: _Columns, rows: list[tuple[Any, ...]]) -> None:
    """Stage rows with plain INSERTs (SQLite, psycopg 3): custom fields become JSON text here."""
    rows = [tuple(_without_control(v) if isinstance(v, str) else v for v in row) for row in rows]
    custom_count = len(columns.custom_names)
    if custom_count:
        names = columns.custom_names
        rows = [
            (*row[:-custom_count], json.dumps(dict(zip(names, row[-custom_count:], strict=True)), ensure_ascii=False))
            for row in rows
        ]
    width = len(rows[0])
    with connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {table} VALUES ({', '.join(['%s'] * width)})", rows)  # noqa: S608


def _replace_contacts(*, job: ImportJob, staging: _Staging, report: ImportReport) -> None:
    if not report.rows_total:
        raise ApplicationError("The file has a header row but no contacts.", code="no_rows")
    # Only the staging table is touched so far: no lock is held while it is de-duplicated.
    report.duplicates = staging.delete_earlier_duplicates()
    quote = connection.ops.quote_name
    contacts, optouts = quote(Contact._meta.db_table), quote(OptOut._meta.db_table)
    with transaction.atomic():
        if staging.use_copy:
            # Sorts and hashes over a million rows stay in memory (this transaction only).
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL work_mem = '256MB'")
        # The row lock orders this against campaign_start, which locks the same row.
        campaign = Campaign.objects.select_for_update().get(pk=job.campaign_id)
        _check_campaign_open(campaign)
        _delete_unassigned_contacts(campaign=campaign)
        # Opt-outs are read here, in the transaction, so one made while the file was read counts.
        report.opted_out = staging.delete_cells_in(
            subquery=f"SELECT {quote(_optout_column('cell'))} FROM {optouts} "  # noqa: S608
            f"WHERE {quote(_optout_column('organization'))} = %s",
            params=[campaign.organization_id],
        )
        # Contacts already handed to a texter are kept; the file's row for such a cell is a duplicate.
        report.duplicates += staging.delete_cells_in(
            subquery=f"SELECT {quote(_column('cell'))} FROM {contacts} WHERE {quote(_column('campaign'))} = %s",  # noqa: S608
            params=[campaign.pk],
        )
        report.timezone_unknown = staging.count_unknown_timezones()
        report.imported = staging.insert_contacts(campaign_id=campaign.pk, now=timezone.now())
        if not report.imported:
            # Replacing a list with nothing is never what the organizer meant.
            raise ApplicationError(_nothing_imported_message(report), code="nothing_imported")
        job.status = JobStatus.DONE
        job.progress = 100
        job.finished_at = timezone.now()
        job.error = ""
        for name, value in report.as_fields().items():
            setattr(job, name, value)
        job.save(update_fields=["status", "progress", "finished_at", "error", *report.as_fields()])
        _publish_progress(job=job, status=JobStatus.DONE)


def _optout_column(field_name: str) -> str:
    field = OptOut._meta.get_field(field_name)
    assert isinstance(field, models.Field) and field.column
    return field.column


def _delete_unassigned_contacts(*, campaign: Campaign) -> None:
    """Delete the campaign's unassigned contacts in a few statements, whatever their number.

    QuerySet.delete() would load every contact to cascade by hand (seconds per 100k rows). Before
    a campaign starts, only tags and survey answers can point at a contact; they go first, and a
    row that still refers to a contact (a message) makes the database refuse, failing the import.
    """
    old = Contact.objects.filter(campaign=campaign, assignment__isnull=True)
    ContactTag.objects.filter(contact__in=old).delete()
    QuestionResponse.objects.filter(contact__in=old).delete()
    quote = connection.ops.quote_name
    table, campaign_column, assignment_column = (
        quote(Contact._meta.db_table),
        quote(_column("campaign")),
        quote(_column("assignment")),
    )
    # Only our own table and column names are formatted into the statement; the id is a parameter.
    sql = f"DELETE FROM {table} WHERE {campaign_column} = %s AND {assignment_column} IS NULL"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [campaign.pk])


def _nothing_imported_message(report: ImportReport) -> str:
    reasons = []
    if report.invalid_cell:
        reasons.append(f"{report.invalid_cell} without a valid cell number")
    if report.opted_out:
        reasons.append(f"{report.opted_out} opted out")
    if report.duplicates:
        reasons.append(f"{report.duplicates} already assigned or repeated")
    detail = f" ({', '.join(reasons)})" if reasons else ""
    return f"No contact could be imported from the {report.rows_total} rows{detail}. The previous contacts are kept."


def _set_progress(*, job: ImportJob, report: ImportReport, percent: int) -> None:
    job.progress = percent
    ImportJob.objects.filter(pk=job.pk).update(progress=percent, **report.as_fields())
    _publish_progress(job=job, status=JobStatus.RUNNING)


def _publish_progress(*, job: ImportJob, status: str) -> None:
    """The upload page's progress bar listens on the campaign's group."""
    publish_on_commit(
        campaign_group(job.campaign_id), "import_progress", import_id=job.pk, progress=job.progress, status=status
    )


def _fail(*, job: ImportJob, report: ImportReport, error: str) -> None:
    job.status = JobStatus.FAILED
    job.error = error
    job.finished_at = timezone.now()
    # Whatever was written is rolled back; the other counts still describe the file.
    report.imported = report.timezone_unknown = 0
    for name, value in report.as_fields().items():
        setattr(job, name, value)
    ImportJob.objects.filter(pk=job.pk).update(
        status=job.status, error=error, finished_at=job.finished_at, **report.as_fields()
    )
    _publish_progress(job=job, status=JobStatus.FAILED)
