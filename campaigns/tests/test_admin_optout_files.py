"""Opt-outs in and out of files: import with a recorded reason, export what the list shows."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from accounts.models import Organization, User
from campaigns.models import Campaign, Contact, ContactStatus, OptOut, OptOutEvent, OptOutSource
from campaigns.services import optout_create
from spoke.testing import ContactFactory

pytestmark = pytest.mark.django_db


def _export(client: Client, query: str = "") -> str:
    response = client.get(reverse("admin:campaigns_optout_export") + query)
    assert response.status_code == 200
    return b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]


def test_import_opts_numbers_out_with_the_reason_and_closes_their_contacts(
    owner_client: Client, organization: Organization, campaign: Campaign
) -> None:
    contact = ContactFactory.create(campaign=campaign, cell="+12025550175")
    upload = SimpleUploadedFile("stop.csv", b"cell\n(202) 555-0175\n202-555-0176\nnot a number\n\n")
    response = owner_client.post(
        reverse("admin:campaigns_optout_import"),
        {"organization": organization.pk, "file": upload, "reason": "old vendor list"},
    )
    assert response.status_code == 302
    assert set(OptOut.objects.values_list("cell", flat=True)) == {"+12025550175", "+12025550176"}
    event = OptOutEvent.objects.get(cell="+12025550175")
    assert (event.source, event.reason) == (OptOutSource.IMPORT, "old vendor list")
    contact.refresh_from_db()
    assert contact.is_opted_out and contact.status == ContactStatus.CLOSED


def test_supervolunteer_cannot_import(client: Client, supervolunteer: User, organization: Organization) -> None:
    client.force_login(supervolunteer)
    assert client.get(reverse("admin:campaigns_optout_import")).status_code == 403


def test_import_offers_only_the_users_organizations(owner_client: Client, other_organization: Organization) -> None:
    upload = SimpleUploadedFile("stop.csv", b"2025550175\n")
    response = owner_client.post(
        reverse("admin:campaigns_optout_import"),
        {"organization": other_organization.pk, "file": upload, "reason": "x"},
    )
    assert response.status_code == 200  # the form again, with its error
    assert not OptOut.objects.exists()


def test_export_streams_the_filtered_opt_outs_of_the_users_organizations_only(
    owner_client: Client, organization: Organization, other_organization: Organization, owner: User
) -> None:
    optout_create(organization=organization, cell="+12025550175", source=OptOutSource.TEXTER, acting_user=owner)
    optout_create(organization=organization, cell="+12025550176", source=OptOutSource.ORGANIZER, reason="=cmd()")
    optout_create(organization=other_organization, cell="+12025550177", source=OptOutSource.TEXTER)
    everything = _export(owner_client)
    assert "+12025550175" in everything and "+12025550176" in everything
    assert "+12025550177" not in everything
    assert "'=cmd()" in everything  # neutralized for spreadsheets
    only_texters = _export(owner_client, "?source__exact=texter")
    assert "+12025550175" in only_texters and "+12025550176" not in only_texters


def test_changelist_links_import_and_export(owner_client: Client, contact: Contact, **_: Any) -> None:
    page = owner_client.get(reverse("admin:campaigns_optout_changelist")).content.decode()
    assert reverse("admin:campaigns_optout_import") in page and reverse("admin:campaigns_optout_export") in page


def test_a_long_opt_out_file_is_imported_by_jobs(
    owner_client: Client,
    organization: Organization,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from campaigns.admin import optouts

    monkeypatch.setattr(optouts, "OPTOUT_IMPORT_CHUNK", 2)
    upload = SimpleUploadedFile("stop.csv", b"2025550171\n2025550172\n2025550173\n2025550171\n")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = owner_client.post(
            reverse("admin:campaigns_optout_import"), {"organization": organization.pk, "file": upload, "reason": "r"}
        )
    assert response.status_code == 302
    assert len(callbacks) == 2  # two jobs: 2 numbers, then 1 (the repeated number once)
    assert OptOut.objects.filter(organization=organization).count() == 3
    assert set(OptOutEvent.objects.values_list("source", flat=True)) == {OptOutSource.IMPORT}
