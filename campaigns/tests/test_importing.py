"""Contact import: the original Spoke's CSV files, the format's edge cases, counts and failures."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from pytest_django.fixtures import Settings as SettingsWrapper

from accounts.models import Organization, User
from campaigns import importing, jobs
from campaigns.importing import (
    NOT_UTF8_MESSAGE,
    STARTED_MESSAGE,
    ImportReport,
    contacts_import_file,
    contacts_import_run,
    contacts_import_start,
)
from campaigns.models import Campaign, Contact, ContactTag, ImportJob, JobStatus, OptOut, OptOutSource
from core.errors import ApplicationError
from spoke.testing import SPOKE_FIXTURES, AssignmentFactory, CampaignFactory, ContactFactory, TagFactory

pytestmark = pytest.mark.django_db


# What each of the original Spoke's test files must give: every CSV there is listed, so a file
# added to the fixtures without an expectation fails `test_every_spoke_fixture_file_is_checked`.
SPOKE_FILE_REPORTS = {
    "female_scientists.csv": ImportReport(rows_total=405, imported=405),
    "three-contacts.csv": ImportReport(rows_total=3, imported=3),
    "two-contacts.csv": ImportReport(rows_total=2, imported=2),
    "csv-headers-test.csv": ImportReport(rows_total=1, imported=1),
}
SPOKE_FILES_REFUSED = {
    "two-contacts-broken.csv": (
        "The file has no first name column (firstName). Accepted headers: firstName, first, firstname, givenname, name."
    ),
}


@pytest.fixture
def new_campaign(organization: Organization) -> Campaign:
    """A campaign that has not started: the only kind that takes a contact list."""
    return CampaignFactory(organization=organization, is_started=False, started_at=None)


def _import_text(campaign: Campaign, text: str | bytes, tmp_path: Path, name: str = "contacts.csv") -> ImportJob:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return contacts_import_file(campaign=campaign, path=path)


def _report(job: ImportJob) -> ImportReport:
    return ImportReport.from_job(job)


def _rejected_rows(job: ImportJob) -> list[dict[str, str]]:
    with job.rejected_file.open("rb") as handle:
        return list(csv.DictReader(io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")))


# --- The original Spoke's files --------------------------------------------------------------


def test_every_spoke_fixture_file_is_checked() -> None:
    on_disk = {path.name for path in SPOKE_FIXTURES.glob("*.csv")}
    assert on_disk == set(SPOKE_FILE_REPORTS) | set(SPOKE_FILES_REFUSED)


@pytest.mark.parametrize("file_name", sorted(SPOKE_FILE_REPORTS))
def test_spoke_fixture_file_imports_with_exact_counts(new_campaign: Campaign, owner: User, file_name: str) -> None:
    job = contacts_import_file(campaign=new_campaign, path=SPOKE_FIXTURES / file_name, acting_user=owner)

    assert (job.status, job.error, job.progress) == (JobStatus.DONE, "", 100)
    assert _report(job) == SPOKE_FILE_REPORTS[file_name]
    assert new_campaign.contacts.count() == SPOKE_FILE_REPORTS[file_name].imported
    assert job.created_by == owner
    assert job.original_name == file_name


@pytest.mark.parametrize("file_name", sorted(SPOKE_FILES_REFUSED))
def test_spoke_fixture_file_without_required_column_is_refused(new_campaign: Campaign, file_name: str) -> None:
    with pytest.raises(ApplicationError) as refused:
        contacts_import_file(campaign=new_campaign, path=SPOKE_FIXTURES / file_name)

    assert refused.value.message == SPOKE_FILES_REFUSED[file_name]
    assert refused.value.code == "missing_column"
    assert not ImportJob.objects.filter(campaign=new_campaign).exists()


def test_female_scientists_keep_non_ascii_names_and_get_timezones(new_campaign: Campaign) -> None:
    contacts_import_file(campaign=new_campaign, path=SPOKE_FIXTURES / "female_scientists.csv")

    alicia = Contact.objects.get(campaign=new_campaign, cell="+12135550102")
    assert (alicia.first_name, alicia.last_name, alicia.zip) == ("Alicia", "Dussán de Reichel", "90002")
    assert alicia.timezone == "America/Los_Angeles"
    assert alicia.custom_fields == {}
    assert not new_campaign.contacts.filter(timezone="").exists()


def test_two_contacts_normalize_eleven_digit_numbers_and_keep_the_custom_column(new_campaign: Campaign) -> None:
    contacts_import_file(campaign=new_campaign, path=SPOKE_FIXTURES / "two-contacts.csv")

    contacts = list(new_campaign.contacts.order_by("cell").values("first_name", "last_name", "cell", "custom_fields"))
    assert contacts == [
        {
            "first_name": "ContactFirst1",
            "last_name": "ContactLast1",
            "cell": "+12025550175",
            "custom_fields": {"favorite_color": "green"},
        },
        {
            "first_name": "ContactFirst2",
            "last_name": "ContactLast2",
            "cell": "+12025550176",
            "custom_fields": {"favorite_color": "orange"},
        },
    ]


def test_csv_headers_test_maps_aliases_and_keeps_other_columns_as_custom_fields(new_campaign: Campaign) -> None:
    job = contacts_import_file(campaign=new_campaign, path=SPOKE_FIXTURES / "csv-headers-test.csv")

    contact = Contact.objects.get(campaign=new_campaign)
    # Cell_Phone comes before phone in the file, so it is the cell; phone stays a custom field.
    assert (contact.first_name, contact.last_name, contact.cell, contact.zip) == (
        "James",
        "Baggins",
        "+15046218927",
        "70116",
    )
    assert contact.timezone == "America/Chicago"
    assert contact.custom_fields == {
        "company_name": "Benton, John B Jr",
        "address": "6649 N Blue Gum St",
        "city": "New Orleans",
        "county": "Orleans",
        "state": "LA",
        "phone": "504-845-1427",
        "email": "jbaggs@gmail.com",
    }
    # The trailing blank line is neither a contact nor a rejected row.
    assert (job.rows_total, job.invalid_cell) == (1, 0)
    assert not job.rejected_file


def test_three_contacts_import_with_only_the_required_columns(new_campaign: Campaign) -> None:
    contacts_import_file(campaign=new_campaign, path=SPOKE_FIXTURES / "three-contacts.csv")

    assert list(new_campaign.contacts.order_by("id").values_list("first_name", "last_name", "cell", "zip")) == [
        ("Hannah", "Clarke", "+17208293847", ""),
        ("James", "Potter", "+19709204873", ""),
        ("Hermione", "Granger", "+18143853820", ""),
    ]


# --- The format ------------------------------------------------------------------------------


def test_byte_order_mark_is_ignored(new_campaign: Campaign, tmp_path: Path) -> None:
    text = "\ufefffirstName,lastName,cell\nAda,Lovelace,2025550100\n".encode()

    job = _import_text(new_campaign, text, tmp_path)

    assert job.status == JobStatus.DONE
    assert Contact.objects.get(campaign=new_campaign).first_name == "Ada"


def test_crlf_lines_and_quoted_newlines_and_commas_are_read_like_excel_writes_them(
    new_campaign: Campaign, tmp_path: Path
) -> None:
    text = (
        "firstName,lastName,cell,notes\r\n"
        'Ada,"Lovelace, Countess",2025550100,"first line\r\nsecond ""quoted"" line"\r\n'
    )

    _import_text(new_campaign, text, tmp_path)

    contact = Contact.objects.get(campaign=new_campaign)
    assert contact.last_name == "Lovelace, Countess"
    assert contact.custom_fields == {"notes": 'first line\r\nsecond "quoted" line'}


def test_header_aliases_match_regardless_of_case_and_spaces(new_campaign: Campaign, tmp_path: Path) -> None:
    text = " GivenName , SURNAME ,Mobile Number,mobile,PostalCode,ExternalID\nAda,Lovelace,x,202-555-0100,10001,A-1\n"

    _import_text(new_campaign, text, tmp_path)

    contact = Contact.objects.get(campaign=new_campaign)
    assert (contact.first_name, contact.last_name, contact.cell, contact.zip, contact.external_id) == (
        "Ada",
        "Lovelace",
        "+12025550100",
        "10001",
        "A-1",
    )
    # "Mobile Number" is not an alias (the alias is "mobilenumber"): it stays a custom field.
    assert contact.custom_fields == {"Mobile Number": "x"}


def test_canonical_column_wins_over_an_earlier_alias(new_campaign: Campaign, tmp_path: Path) -> None:
    text = "firstName,lastName,phone,cell\nAda,Lovelace,202-555-0199,202-555-0100\n"

    _import_text(new_campaign, text, tmp_path)

    contact = Contact.objects.get(campaign=new_campaign)
    assert contact.cell == "+12025550100"
    assert contact.custom_fields == {"phone": "202-555-0199"}


def test_values_are_trimmed_and_short_rows_padded(new_campaign: Campaign, tmp_path: Path) -> None:
    text = "firstName,lastName,cell,zip,team\n  Ada  , Lovelace ,  2025550100 \n"

    job = _import_text(new_campaign, text, tmp_path)

    contact = Contact.objects.get(campaign=new_campaign)
    assert (contact.first_name, contact.last_name, contact.cell, contact.zip) == ("Ada", "Lovelace", "+12025550100", "")
    assert contact.custom_fields == {"team": ""}
    assert job.rows_total == 1


def test_external_id_without_zip_and_awkward_values_are_stored_cleanly(new_campaign: Campaign, tmp_path: Path) -> None:
    long_name = "N" * 250
    text = f"firstName,lastName,cell,external_id,note\nAda\x00,{long_name},2025550100,VAN-42,a\x1fb\n"

    job = _import_text(new_campaign, text, tmp_path)

    assert job.status == JobStatus.DONE
    contact = Contact.objects.get(campaign=new_campaign)
    assert (contact.first_name, contact.external_id, contact.zip) == ("Ada", "VAN-42", "")
    assert contact.last_name == "N" * 200
    assert contact.custom_fields == {"note": "a b"}


def test_header_missing_two_columns_names_both(new_campaign: Campaign, tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text("first,email\nAda,ada@example.com\n")

    with pytest.raises(ApplicationError) as refused:
        contacts_import_file(campaign=new_campaign, path=path)

    assert "no last name column (lastName)" in refused.value.message
    assert "no cell phone column (cell)" in refused.value.message
    assert "Accepted headers: cell, mobile, number, phone, phone_number" in refused.value.message


# --- Row handling and counts -----------------------------------------------------------------


def test_invalid_and_missing_cells_are_counted_and_written_to_the_rejected_file(
    new_campaign: Campaign, tmp_path: Path
) -> None:
    text = (
        "firstName,lastName,cell,note\n"
        "Ada,Lovelace,2025550100,ok\n"
        "Bad,Number,12345,=HYPERLINK(1)\n"
        "No,Cell,,x\n"
        ",,,\n"
        "\n"
        "Grace,Hopper,(202) 555-0101,ok\n"
    )

    job = _import_text(new_campaign, text, tmp_path)

    assert _report(job) == ImportReport(rows_total=4, imported=2, invalid_cell=2)
    assert _rejected_rows(job) == [
        # A value that a spreadsheet would run as a formula comes back neutralized.
        {
            "firstName": "Bad",
            "lastName": "Number",
            "cell": "12345",
            "note": "'=HYPERLINK(1)",
            "reason": "not a valid cell number",
        },
        {"firstName": "No", "lastName": "Cell", "cell": "", "note": "x", "reason": "no cell number"},
    ]


def test_duplicate_cells_count_once_and_the_last_row_wins(new_campaign: Campaign, tmp_path: Path) -> None:
    text = (
        "firstName,lastName,cell\n"
        "Ada,First,(202) 555-0100\n"
        "Grace,Hopper,202-555-0101\n"
        "Ada,Last,+1 202 555 0100\n"
        "Ada,Final,12025550100\n"
    )

    job = _import_text(new_campaign, text, tmp_path)

    assert _report(job) == ImportReport(rows_total=4, imported=2, duplicates=2)
    assert Contact.objects.get(campaign=new_campaign, cell="+12025550100").last_name == "Final"


def test_opted_out_cells_of_the_organization_are_not_imported(
    new_campaign: Campaign, organization: Organization, other_organization: Organization, tmp_path: Path
) -> None:
    OptOut.objects.create(organization=organization, cell="+12025550101", source=OptOutSource.KEYWORD)
    # Opt-outs are per organization: another organization's list does not apply.
    OptOut.objects.create(organization=other_organization, cell="+12025550102", source=OptOutSource.KEYWORD)
    text = "firstName,lastName,cell\nAda,L,2025550100\nGrace,H,2025550101\nKatherine,J,2025550102\n"

    job = _import_text(new_campaign, text, tmp_path)

    assert _report(job) == ImportReport(rows_total=3, imported=2, opted_out=1)
    assert set(new_campaign.contacts.values_list("cell", flat=True)) == {"+12025550100", "+12025550102"}


def test_timezone_comes_from_zip_then_number_and_unknown_ones_are_counted(
    new_campaign: Campaign, tmp_path: Path
) -> None:
    text = (
        "firstName,lastName,cell,zip\n"
        "Zip,Wins,2025550100,94103\n"  # a Washington DC number living in San Francisco
        "Number,Only,2025550101,\n"
        "Toll,Free,8005550100,\n"  # a toll-free number says nothing about where its owner is
    )

    job = _import_text(new_campaign, text, tmp_path)

    assert dict(new_campaign.contacts.values_list("first_name", "timezone")) == {
        "Zip": "America/Los_Angeles",
        "Number": "America/New_York",
        "Toll": "",
    }
    assert (job.imported, job.timezone_unknown) == (3, 1)


def test_reimport_replaces_unassigned_contacts_and_keeps_assigned_ones(
    new_campaign: Campaign, texter: User, tmp_path: Path
) -> None:
    assignment = AssignmentFactory(campaign=new_campaign, texter=texter)
    assigned = ContactFactory(campaign=new_campaign, assignment=assignment, cell="+12025550100", first_name="Kept")
    old = ContactFactory(campaign=new_campaign, cell="+12025550199", first_name="Old")
    # What can point at a contact before the campaign starts goes with it.
    ContactTag.objects.create(contact=old, tag=TagFactory(organization=new_campaign.organization))
    text = "firstName,lastName,cell\nAda,Again,2025550100\nGrace,New,2025550101\n"

    job = _import_text(new_campaign, text, tmp_path)

    assert _report(job) == ImportReport(rows_total=2, imported=1, duplicates=1)
    assert dict(new_campaign.contacts.values_list("cell", "first_name")) == {
        "+12025550100": "Kept",
        "+12025550101": "Grace",
    }
    assert Contact.objects.get(pk=assigned.pk).assignment_id == assignment.pk
    assert not ContactTag.objects.filter(contact_id=old.pk).exists()


def test_large_file_reports_progress_as_it_reads_and_ends_at_100(
    new_campaign: Campaign, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[int] = []
    record = importing._set_progress

    def spy(*, job: ImportJob, report: ImportReport, percent: int) -> None:
        seen.append(percent)
        record(job=job, report=report, percent=percent)

    monkeypatch.setattr(importing, "_set_progress", spy)
    lines = ["firstName,lastName,cell,zip"] + [f"P{n},L{n},202{2000000 + n},20001" for n in range(12_000)]

    job = _import_text(new_campaign, "\n".join(lines) + "\n", tmp_path)

    assert (job.status, job.progress, job.imported, job.rows_total) == (JobStatus.DONE, 100, 12_000, 12_000)
    assert new_campaign.contacts.count() == 12_000
    # Two updates while reading (every 5,000 rows), one when reading ends, then 100 on commit.
    assert len(seen) == 3
    assert seen == sorted(seen)
    assert 0 < seen[0] < 100
    assert seen[-1] == 90


# --- Refusals and failures -------------------------------------------------------------------


def test_started_campaign_refuses_an_upload(campaign: Campaign) -> None:
    upload = SimpleUploadedFile("contacts.csv", b"firstName,lastName,cell\nAda,L,2025550100\n")

    with pytest.raises(ApplicationError) as refused:
        contacts_import_start(campaign=campaign, uploaded_file=upload, original_name="contacts.csv", acting_user=None)

    assert refused.value.message == STARTED_MESSAGE
    assert not ImportJob.objects.filter(campaign=campaign).exists()


def test_archived_campaign_refuses_an_upload(organization: Organization) -> None:
    archived = CampaignFactory(organization=organization, is_started=False, started_at=None, is_archived=True)
    upload = SimpleUploadedFile("contacts.csv", b"firstName,lastName,cell\nAda,L,2025550100\n")

    with pytest.raises(ApplicationError, match="archived"):
        contacts_import_start(campaign=archived, uploaded_file=upload, original_name="contacts.csv", acting_user=None)


def test_campaign_started_before_the_job_ran_fails_the_job(
    new_campaign: Campaign, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    upload = SimpleUploadedFile("contacts.csv", b"firstName,lastName,cell\nAda,L,2025550100\n")
    with django_capture_on_commit_callbacks(execute=False):
        job = contacts_import_start(
            campaign=new_campaign, uploaded_file=upload, original_name="contacts.csv", acting_user=None
        )
    Campaign.objects.filter(pk=new_campaign.pk).update(is_started=True)

    job = contacts_import_run(import_job_id=job.pk)

    assert (job.status, job.error) == (JobStatus.FAILED, STARTED_MESSAGE)
    assert not new_campaign.contacts.exists()


def test_campaign_started_while_the_file_was_read_fails_the_job_without_writing(
    new_campaign: Campaign, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    contacts_import_file(campaign=new_campaign, path=SPOKE_FIXTURES / "three-contacts.csv")
    before = list(new_campaign.contacts.order_by("id").values_list("id", flat=True))
    read_rows = importing._read_rows

    def read_then_start(**kwargs: Any) -> Any:
        rows = read_rows(**kwargs)
        Campaign.objects.filter(pk=new_campaign.pk).update(is_started=True)
        return rows

    monkeypatch.setattr(importing, "_read_rows", read_then_start)

    job = _import_text(new_campaign, "firstName,lastName,cell\nAda,L,2025550100\n", tmp_path)

    assert (job.status, job.error) == (JobStatus.FAILED, STARTED_MESSAGE)
    assert list(new_campaign.contacts.order_by("id").values_list("id", flat=True)) == before


def test_oversize_file_is_refused_with_the_limit(new_campaign: Campaign, settings: SettingsWrapper) -> None:
    settings.CONTACT_UPLOAD_MAX_BYTES = 2048
    upload = SimpleUploadedFile("big.csv", b"firstName,lastName,cell\n" + b"Ada,L,2025550100\n" * 200)

    with pytest.raises(ApplicationError) as refused:
        contacts_import_start(campaign=new_campaign, uploaded_file=upload, original_name="big.csv", acting_user=None)

    assert refused.value.message == "The file is 3.3 KB; the limit for a contact list is 2 KB."
    assert refused.value.code == "file_too_large"


def test_empty_file_is_refused(new_campaign: Campaign) -> None:
    upload = SimpleUploadedFile("empty.csv", b"")

    with pytest.raises(ApplicationError, match="empty"):
        contacts_import_start(campaign=new_campaign, uploaded_file=upload, original_name="empty.csv", acting_user=None)


def test_file_that_does_not_start_as_utf8_is_refused_at_upload(new_campaign: Campaign) -> None:
    upload = SimpleUploadedFile("latin1.csv", "firstName,lastName,cell\nAlicia,Dussán,2135550102\n".encode("latin-1"))

    with pytest.raises(ApplicationError) as refused:
        contacts_import_start(campaign=new_campaign, uploaded_file=upload, original_name="latin1.csv", acting_user=None)

    assert refused.value.message == NOT_UTF8_MESSAGE


def test_non_utf8_bytes_deep_in_the_file_fail_the_job_and_keep_previous_contacts(
    new_campaign: Campaign, tmp_path: Path
) -> None:
    contacts_import_file(campaign=new_campaign, path=SPOKE_FIXTURES / "three-contacts.csv")
    before = list(new_campaign.contacts.order_by("id").values_list("id", "cell"))
    # Past the first chunks the upload check decodes, so only the job meets the bad byte.
    good = "".join(f"P{n},L{n},202{2000000 + n}\n" for n in range(10_000))
    text = ("firstName,lastName,cell\n" + good).encode() + "Alicia,Dussán,2135550102\n".encode("latin-1")

    job = _import_text(new_campaign, text, tmp_path)

    assert (job.status, job.error, job.imported) == (JobStatus.FAILED, NOT_UTF8_MESSAGE, 0)
    assert list(new_campaign.contacts.order_by("id").values_list("id", "cell")) == before


def test_file_with_no_valid_cell_fails_and_keeps_previous_contacts(new_campaign: Campaign, tmp_path: Path) -> None:
    contacts_import_file(campaign=new_campaign, path=SPOKE_FIXTURES / "two-contacts.csv")
    before = list(new_campaign.contacts.order_by("id").values_list("id", flat=True))

    job = _import_text(new_campaign, "firstName,lastName,cell\nAda,L,555\nGrace,H,n/a\n", tmp_path)

    assert job.status == JobStatus.FAILED
    assert job.error == (
        "No contact could be imported from the 2 rows (2 without a valid cell number). The previous contacts are kept."
    )
    assert job.invalid_cell == 2
    assert len(_rejected_rows(job)) == 2
    assert list(new_campaign.contacts.order_by("id").values_list("id", flat=True)) == before


def test_header_only_file_fails_the_job(new_campaign: Campaign, tmp_path: Path) -> None:
    job = _import_text(new_campaign, "firstName,lastName,cell\n\n", tmp_path)

    assert (job.status, job.error) == (JobStatus.FAILED, "The file has a header row but no contacts.")


def test_stored_file_with_a_missing_column_fails_the_job(new_campaign: Campaign) -> None:
    job = ImportJob(campaign=new_campaign)
    job.source_file.save("broken.csv", ContentFile(b"name,cell\nAda,2025550100\n"))

    job = contacts_import_run(import_job_id=job.pk)

    assert job.status == JobStatus.FAILED
    assert job.error.startswith("The file has no last name column (lastName).")
    assert ImportJob.objects.get(pk=job.pk).status == JobStatus.FAILED


def test_unexpected_error_fails_the_job_without_leaking_details(
    new_campaign: Campaign, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(**kwargs: object) -> str:
        raise RuntimeError("database password is hunter2")

    monkeypatch.setattr(importing, "contact_timezone", explode)

    job = _import_text(new_campaign, "firstName,lastName,cell\nAda,L,2025550100\n", tmp_path)

    assert job.status == JobStatus.FAILED
    assert "failed unexpectedly" in job.error
    assert "hunter2" not in job.error
    assert not new_campaign.contacts.exists()


# --- Start, the job and its queue ------------------------------------------------------------


def test_start_stores_the_file_and_runs_the_import_after_commit(
    new_campaign: Campaign, owner: User, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    content = (SPOKE_FIXTURES / "two-contacts.csv").read_bytes()
    upload = SimpleUploadedFile("my list.csv", content, content_type="text/csv")

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        job = contacts_import_start(
            campaign=new_campaign, uploaded_file=upload, original_name="my list.csv", acting_user=owner
        )
        assert job.status == JobStatus.PENDING

    # One job enqueued on commit; the others are the progress bar's live updates the job publishes.
    assert [callback.__qualname__ for callback in callbacks].count("enqueue.<locals>._dispatch") == 1
    job.refresh_from_db()
    assert (job.status, job.progress, job.imported, job.original_name) == (JobStatus.DONE, 100, 2, "my list.csv")
    assert job.created_by == owner
    assert job.finished_at is not None
    with job.source_file.open("rb") as stored:
        assert stored.read() == content
    assert new_campaign.contacts.count() == 2


def test_start_enqueues_the_job_on_the_imports_queue(new_campaign: Campaign, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[object, dict[str, object]]] = []
    monkeypatch.setattr(importing, "enqueue", lambda func, **kwargs: calls.append((func, kwargs)))
    upload = SimpleUploadedFile("contacts.csv", b"firstName,lastName,cell\nAda,L,2025550100\n")

    job = contacts_import_start(campaign=new_campaign, uploaded_file=upload, original_name="c.csv", acting_user=None)

    assert calls == [
        (jobs.import_contacts, {"queue": "imports", "job_id": f"import-{job.pk}", "import_job_id": job.pk})
    ]


def test_running_a_finished_job_again_changes_nothing(new_campaign: Campaign, tmp_path: Path) -> None:
    job = _import_text(new_campaign, "firstName,lastName,cell\nAda,L,2025550100\n", tmp_path)
    Contact.objects.filter(campaign=new_campaign).update(first_name="Edited")

    again = contacts_import_run(import_job_id=job.pk)

    assert again.status == JobStatus.DONE
    assert Contact.objects.get(campaign=new_campaign).first_name == "Edited"


def test_job_for_a_deleted_campaign_does_nothing(new_campaign: Campaign, tmp_path: Path) -> None:
    job = _import_text(new_campaign, "firstName,lastName,cell\nAda,L,2025550100\n", tmp_path)
    job_id = job.pk
    new_campaign.delete()

    jobs.import_contacts(import_job_id=job_id)

    assert not ImportJob.objects.filter(pk=job_id).exists()
