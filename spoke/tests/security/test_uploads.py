"""Uploads are size-limited, and a file over the limit gets an error saying the limit and what
to do, before anything is imported."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from pytest_django.fixtures import Settings as SettingsWrapper

from accounts.models import Organization, User
from campaigns.models import Campaign, CannedResponse, Contact, OptOut
from spoke.testing import CampaignFactory

pytestmark = pytest.mark.django_db

BIG = b"cell\n" + b"+12025550100\n" * 100  # 1.3 KB


def test_an_opt_out_file_over_the_limit_is_refused_with_the_limit(
    client: Client, owner: User, organization: Organization, settings: SettingsWrapper
) -> None:
    settings.UPLOAD_MAX_BYTES = 1024
    client.force_login(owner)
    response = client.post(
        reverse("admin:campaigns_optout_import"),
        {"organization": organization.pk, "reason": "old list", "file": SimpleUploadedFile("big.csv", BIG)},
    )
    assert response.status_code == 200
    assert "“big.csv” is 1.3 KB; files here may be at most 1.0 KB. Split it into smaller files" in (
        response.content.decode()
    )
    assert OptOut.objects.count() == 0


def test_a_canned_response_file_over_the_limit_is_refused_with_the_limit(
    client: Client, owner: User, campaign: Campaign, settings: SettingsWrapper
) -> None:
    settings.UPLOAD_MAX_BYTES = 1024
    before = CannedResponse.objects.count()
    client.force_login(owner)
    big = b"Title,Text\n" + b"Where,At the school\n" * 100
    response = client.post(
        reverse("admin:campaigns_campaign_canned_import", args=[campaign.pk]),
        {"file": SimpleUploadedFile("canned.csv", big)},
        follow=True,
    )
    assert "“canned.csv” is" in response.content.decode() and "Split it into smaller files" in response.content.decode()
    assert CannedResponse.objects.count() == before


def test_a_contact_list_over_the_limit_is_refused_in_the_back_office_and_the_api(
    client: Client, owner: User, organization: Organization, settings: SettingsWrapper
) -> None:
    settings.CONTACT_UPLOAD_MAX_BYTES = 1024
    campaign = CampaignFactory.create(organization=organization, is_started=False, started_at=None)
    big = b"firstName,lastName,cell\n" + b"Ada,L,+12025550100\n" * 100
    client.force_login(owner)
    page = client.post(
        reverse("admin:campaigns_campaign_upload", args=[campaign.pk]),
        {"file": SimpleUploadedFile("big.csv", big)},
        follow=True,
    )
    assert "the limit for a contact list is 1 KB" in page.content.decode()
    api = client.post("/api/v1/contacts/import/", {"campaign": campaign.pk, "file": SimpleUploadedFile("big.csv", big)})
    assert api.status_code == 400
    assert "the limit for a contact list is 1 KB" in api.content.decode()
    assert Contact.objects.filter(campaign=campaign).count() == 0


def test_a_json_body_over_the_request_limit_is_refused(
    client: Client, owner: User, organization: Organization, settings: SettingsWrapper
) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    campaign = CampaignFactory.create(organization=organization, is_started=False, started_at=None)
    client.force_login(owner)
    rows = [{"firstName": "Ada", "lastName": "L", "cell": "+12025550100"}] * 50
    import json

    response = client.post(
        "/api/v1/contacts/import/",
        json.dumps({"campaign": campaign.pk, "contacts": rows}),
        content_type="application/json",
    )
    assert response.status_code in (400, 413)
    assert Contact.objects.filter(campaign=campaign).count() == 0
