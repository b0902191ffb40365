"""Every CSV Spoke writes for people to open in a spreadsheet: no cell can run as a formula
(=, +, -, @, tab or carriage return at the start), while phone numbers stay as they are."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from accounts.models import Organization, User
from campaigns.importing import contacts_import_file
from campaigns.models import (
    Assignment,
    Campaign,
    ContactStatus,
    ContactTag,
    InteractionStep,
    OptOut,
    OptOutSource,
    QuestionResponse,
)
from core.spreadsheets import spreadsheet_safe
from spoke.testing import CampaignFactory, ContactFactory, MessageFactory, TagFactory
from texting.exports import write_contacts_csv, write_messages_csv
from texting.models import Direction, MessageStatus

pytestmark = pytest.mark.django_db

FORMULAS = ['=HYPERLINK("http://evil","x")', "+SUM(1,2)", "-2+3", "@cmd", "\t=1+1", "\r=1+1"]
DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r")


def _cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def _assert_safe(text: str, where: str) -> None:
    cells = _cells(text)
    for cell in cells:
        if cell.startswith(DANGEROUS_START) and cell != spreadsheet_safe(cell):
            pytest.fail(f"{where}: the cell {cell!r} would run as a formula")
    neutralized = [cell for cell in cells if cell.startswith("'")]
    assert neutralized, f"{where}: the test's formulas should be in the file, neutralized"


@pytest.mark.parametrize("formula", FORMULAS)
def test_spreadsheet_safe_neutralizes_each_formula_start(formula: str) -> None:
    assert spreadsheet_safe(formula) == "'" + formula


@pytest.mark.parametrize("number", ["+12025550100", "+1 (202) 555-0100", "-42", "12.5"])
def test_spreadsheet_safe_leaves_numbers_alone(number: str) -> None:
    assert spreadsheet_safe(number) == number


def test_the_campaign_exports_neutralize_every_text_column(campaign: Campaign, assignment: Assignment) -> None:
    assignment.texter.first_name = "=cmd|' /C calc'!A0"
    assignment.texter.save(update_fields=["first_name"])
    contact = ContactFactory.create(
        campaign=campaign,
        assignment=assignment,
        first_name=FORMULAS[0],
        last_name=FORMULAS[1],
        external_id=FORMULAS[3],
        custom_fields={"note": FORMULAS[2], "ward": FORMULAS[4]},
        status=ContactStatus.CONVO,
    )

    root = InteractionStep.objects.get(campaign=campaign, parent__isnull=True)
    QuestionResponse.objects.create(contact=contact, interaction_step=root, value=FORMULAS[5])
    ContactTag.objects.create(contact=contact, tag=TagFactory.create(organization=campaign.organization, name="@tag"))
    MessageFactory.create(contact=contact, texter=assignment.texter, body=FORMULAS[0])
    MessageFactory.create(contact=contact, direction=Direction.INBOUND, status=MessageStatus.RECEIVED, body="=1+1")
    for write in (write_contacts_csv, write_messages_csv):
        out = io.StringIO()
        write(campaign=campaign, out=out)
        _assert_safe(out.getvalue(), write.__name__)
    assert contact.cell in out.getvalue()  # numbers untouched


def _optout(organization: Organization) -> None:
    OptOut.objects.create(
        organization=organization, cell="+12025550188", source=OptOutSource.ORGANIZER, reason="=HYPERLINK(1)"
    )


def test_the_back_office_opt_out_export_neutralizes_reasons(owner: User, organization: Organization) -> None:
    _optout(organization)
    client = Client()
    client.force_login(owner)
    response = client.get(reverse("admin:campaigns_optout_export"))
    body = b"".join(response.streaming_content).decode() if response.streaming else response.content.decode()
    _assert_safe(body, "admin opt-out export")
    assert "+12025550188" in body


def test_the_opt_out_command_export_neutralizes_reasons(organization: Organization, tmp_path: Path) -> None:
    _optout(organization)
    OptOut.objects.create(organization=organization, cell="+12025550189", source=OptOutSource.ORGANIZER, reason="\t=1")
    target = tmp_path / "optouts.csv"
    call_command("optouts", "export", str(organization.pk), "-o", str(target))
    _assert_safe(target.read_text(), "manage.py optouts export")
    assert "'\t=1" in target.read_text()


def test_the_rejected_rows_of_an_import_neutralize_what_was_uploaded(
    organization: Organization, tmp_path: Path
) -> None:
    campaign = CampaignFactory.create(organization=organization, is_started=False, started_at=None)
    upload = tmp_path / "contacts.csv"
    upload.write_text('firstName,lastName,cell,note\n"=HYPERLINK(1)",@x,not-a-number,"-2+3"\nAna,B,+12025550111,ok\n')
    job = contacts_import_file(campaign=campaign, path=upload)
    assert job.invalid_cell == 1
    with job.rejected_file.open("rb") as handle:
        _assert_safe(handle.read().decode("utf-8-sig"), "rejected rows")
