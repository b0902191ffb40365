"""import_contacts, assign_texters, start_campaign, archive_campaign and optouts: happy path and bad input."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import Organization, User
from campaigns.models import Campaign, Contact, InteractionStep, OptOut
from spoke.testing import SPOKE_FIXTURES, CampaignFactory, ContactFactory


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def fresh_campaign(organization: Organization) -> Campaign:
    return CampaignFactory.create(organization=organization, is_started=False, started_at=None, title="Fresh")


# The import runs in a thread with its own database connection while the command draws the
# progress bar: the data it reads must be committed.
@pytest.mark.django_db(transaction=True)
def test_import_contacts_shows_progress_and_a_report(
    fresh_campaign: Campaign, capsys: pytest.CaptureFixture[str]
) -> None:
    out, _ = run("import_contacts", str(fresh_campaign.pk), str(SPOKE_FIXTURES / "two-contacts.csv"))
    assert "Imported 2 contacts into “Fresh”" in out
    assert "invalid cell numbers: 0" in out
    assert "100%" in capsys.readouterr().err
    assert Contact.objects.filter(campaign=fresh_campaign).count() == 2


@pytest.mark.django_db(transaction=True)
def test_import_contacts_reports_a_refused_file(fresh_campaign: Campaign, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("name,phone_missing\nAda,1\n")
    with pytest.raises(CommandError, match="no last name column"):
        run("import_contacts", str(fresh_campaign.pk), str(bad), "--no-progress")
    with pytest.raises(CommandError, match="No file at"):
        run("import_contacts", str(fresh_campaign.pk), str(tmp_path / "missing.csv"))


@pytest.mark.django_db
def test_import_contacts_refuses_a_started_or_unknown_campaign(campaign: Campaign) -> None:
    with pytest.raises(CommandError, match="has started"):
        run("import_contacts", str(campaign.pk), str(SPOKE_FIXTURES / "two-contacts.csv"), "--no-progress")
    with pytest.raises(CommandError, match="There is no campaign 999999"):
        run("import_contacts", "999999", str(SPOKE_FIXTURES / "two-contacts.csv"))


@pytest.mark.django_db
def test_assign_texters_with_counts_and_split(fresh_campaign: Campaign, texter: User, other_texter: User) -> None:
    ContactFactory.create_batch(5, campaign=fresh_campaign)
    out, _ = run("assign_texters", str(fresh_campaign.pk), f"{texter.email}=2")
    assert f"{texter.email}: 2 contacts" in out and "3 still unassigned" in out
    out, _ = run("assign_texters", str(fresh_campaign.pk), "--split", texter.email, other_texter.email)
    assert "0 still unassigned" in out


@pytest.mark.django_db
def test_assign_texters_refuses_bad_pairs_and_strangers(fresh_campaign: Campaign, texter: User, outsider: User) -> None:
    ContactFactory.create_batch(2, campaign=fresh_campaign)
    with pytest.raises(CommandError, match="write EMAIL=COUNT"):
        run("assign_texters", str(fresh_campaign.pk), f"{texter.email}=lots")
    with pytest.raises(CommandError, match="not an active member of Vote Forward"):
        run("assign_texters", str(fresh_campaign.pk), f"{texter.email}=1", f"{outsider.email}=1")
    assert not Contact.objects.filter(assignment__isnull=False).exists()  # all or nothing


@pytest.mark.django_db
def test_start_campaign_says_what_to_fix_then_starts(fresh_campaign: Campaign) -> None:
    with pytest.raises(CommandError, match="no contacts"):
        run("start_campaign", str(fresh_campaign.pk))
    ContactFactory.create(campaign=fresh_campaign)
    InteractionStep.objects.create(campaign=fresh_campaign, script="Hi")
    Campaign.objects.filter(pk=fresh_campaign.pk).update(use_dynamic_assignment=True)
    out, _ = run("start_campaign", str(fresh_campaign.pk))
    assert "has started" in out
    fresh_campaign.refresh_from_db()
    assert fresh_campaign.is_started


@pytest.mark.django_db
def test_archive_and_unarchive_campaign(campaign: Campaign) -> None:
    run("archive_campaign", str(campaign.pk))
    campaign.refresh_from_db()
    assert campaign.is_archived
    out, _ = run("archive_campaign", str(campaign.pk), "--unarchive")
    campaign.refresh_from_db()
    assert not campaign.is_archived and "no longer archived" in out


@pytest.mark.django_db
def test_optouts_import_and_export(organization: Organization, contact: Contact, tmp_path: Path) -> None:
    source = tmp_path / "stops.csv"
    source.write_text(f"Phone,reason\n{contact.cell},asked\n(202) 555-0199,\nnot a number,\n")
    out, _ = run("optouts", "import", "Vote Forward", str(source))
    assert "Opted out 2 numbers" in out and "Skipped 1 row" in out
    contact.refresh_from_db()
    assert contact.is_opted_out
    target = tmp_path / "out.csv"
    run("optouts", "export", str(organization.pk), "--output", str(target))
    lines = target.read_text().splitlines()
    assert lines[0] == "cell,source,reason,created_at" and len(lines) == 3
    assert {line.split(",")[0] for line in lines[1:]} == {contact.cell, "+12025550199"}


@pytest.mark.django_db
def test_optouts_import_refuses_a_file_without_a_cell_column(organization: Organization, tmp_path: Path) -> None:
    source = tmp_path / "stops.csv"
    source.write_text("name\nAda\n")
    with pytest.raises(CommandError, match="no cell column"):
        run("optouts", "import", str(organization.pk), str(source))
    assert not OptOut.objects.exists()
