"""manage.py export_campaign: into a directory, into the storage, and bad input."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from pytest_django.fixtures import Settings as SettingsWrapper

from accounts.models import User
from campaigns.models import Assignment, Campaign, Contact, InteractionStep, JobStatus, QuestionResponse
from spoke.testing import ContactFactory, MessageFactory
from texting.models import ExportJob


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("export_campaign", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def read(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


@pytest.fixture
def answered(campaign: Campaign, assignment: Assignment) -> Contact:
    contact = ContactFactory.create(
        campaign=campaign, assignment=assignment, first_name="+SUM(1)", cell="+12025550101", custom_fields={"ward": "7"}
    )
    root = InteractionStep.objects.get(campaign=campaign, parent__isnull=True)
    QuestionResponse.objects.create(contact=contact, interaction_step=root, value="Yes")
    MessageFactory.create(contact=contact, body="Hi there")
    MessageFactory.create(contact=contact, body="Vote!")
    return contact


@pytest.mark.django_db
def test_writes_both_csvs_into_a_new_directory(
    campaign: Campaign, answered: Contact, texter: User, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "exports" / "today"
    out, _ = run(str(campaign.pk), "--output", str(target))
    assert f"Exported “Get out the vote” (campaign {campaign.pk}): 1 contacts, 2 messages." in out
    contacts_file = next(target.glob(f"campaign-{campaign.pk}-contacts-*.csv"))
    messages_file = next(target.glob(f"campaign-{campaign.pk}-messages-*.csv"))
    assert str(contacts_file) in out and str(messages_file) in out
    [row] = read(contacts_file)
    assert (row["firstName"], row["cell"], row["ward"]) == ("'+SUM(1)", "+12025550101", "7")
    assert (row["texterEmail"], row["Can we count on your vote?"]) == (texter.email, "Yes")
    assert [r["body"] for r in read(messages_file)] == ["Hi there", "Vote!"]
    assert "100%" in capsys.readouterr().err
    assert not ExportJob.objects.exists()  # a directory export is not a stored export


# The export runs in a thread with its own database connection while the command draws the
# progress bar: the data it reads must be committed.
@pytest.mark.django_db(transaction=True)
def test_stores_an_export_the_back_office_lists(
    campaign: Campaign, answered: Contact, capsys: pytest.CaptureFixture[str]
) -> None:
    out, _ = run(str(campaign.pk))
    job = ExportJob.objects.get(campaign=campaign)
    assert (job.status, job.progress) == (JobStatus.DONE, 100)
    assert "1 contacts, 2 messages" in out
    assert job.contacts_file.path in out and job.messages_file.path in out
    assert f"/api/v1/exports/{job.pk}/" in out
    with job.contacts_file.open("rb") as handle:
        assert b"+12025550101" in handle.read()
    assert "100%" in capsys.readouterr().err


@pytest.mark.django_db(transaction=True)
def test_a_failed_export_exits_with_its_reason(
    campaign: Campaign, answered: Contact, settings: SettingsWrapper, tmp_path: Path
) -> None:
    media = tmp_path / "media"
    media.write_text("the storage's directory is a file: every save fails")
    settings.MEDIA_ROOT = str(media)
    with pytest.raises(CommandError, match=r"The export failed: .*media"):
        run(str(campaign.pk), "--no-progress")
    assert ExportJob.objects.get(campaign=campaign).status == JobStatus.FAILED


@pytest.mark.django_db
def test_refuses_an_unknown_or_malformed_campaign(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="There is no campaign 999999"):
        run("999999", "--output", str(tmp_path))
    with pytest.raises(CommandError, match="CAMPAIGN is a campaign's id"):
        run("Get out the vote")
    assert not any(tmp_path.iterdir())


@pytest.mark.django_db
def test_refuses_an_output_that_is_a_file(campaign: Campaign, tmp_path: Path) -> None:
    blocker = tmp_path / "exports"
    blocker.write_text("not a directory")
    with pytest.raises(CommandError, match="is a file, not a directory"):
        run(str(campaign.pk), "--output", str(blocker))
    with pytest.raises(CommandError, match="Can't create the directory"):
        run(str(campaign.pk), "--output", str(blocker / "inside"))


def test_help_explains_the_command() -> None:
    from texting.management.commands.export_campaign import Command

    parser = Command().create_parser("manage.py", "export_campaign")
    text = parser.format_help()
    assert "contacts" in text and "messages" in text and "--output DIR" in text
