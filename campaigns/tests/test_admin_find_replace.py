"""Bulk find and replace across the organization's scripts: preview first, then apply."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Organization, User
from campaigns.models import Campaign, CannedResponse, InteractionStep
from spoke.testing import CampaignFactory, CannedResponseFactory, InteractionStepFactory

pytestmark = pytest.mark.django_db

URL = "admin:campaigns_campaign_find_replace"


@pytest.fixture
def scripts(organization: Organization, other_organization: Organization) -> dict[str, object]:
    mine = CampaignFactory.create(organization=organization)
    archived = CampaignFactory.create(organization=organization, is_archived=True)
    theirs = CampaignFactory.create(organization=other_organization)
    return {
        "step": InteractionStepFactory.create(campaign=mine, script="Vote at the Library on Main St."),
        "archived": InteractionStepFactory.create(campaign=archived, script="Vote at the Library on Main St."),
        "theirs": InteractionStepFactory.create(campaign=theirs, script="Vote at the Library on Main St."),
        "canned": CannedResponseFactory.create(campaign=mine, title="Where", text="The Library on Main St."),
    }


def test_preview_changes_nothing_and_apply_changes_only_this_organizations_active_scripts(
    owner_client: Client, organization: Organization, scripts: dict[str, object]
) -> None:
    data = {"organization": organization.pk, "find": "Library on Main St", "replace": "School on Elm St"}
    preview = owner_client.post(reverse(URL), {**data, "preview": "1"})
    assert preview.status_code == 200
    assert len(preview.context["changes"]) == 2  # the active campaign's step and canned response
    assert b"School on Elm St" in preview.content
    assert InteractionStep.objects.filter(script__contains="School").count() == 0

    applied = owner_client.post(reverse(URL), {**data, "apply": "1"})
    assert applied.status_code == 302
    step, archived, theirs, canned = (scripts[k] for k in ("step", "archived", "theirs", "canned"))
    assert InteractionStep.objects.get(pk=step.pk).script == "Vote at the School on Elm St."  # type: ignore[attr-defined]
    assert "Library" in InteractionStep.objects.get(pk=archived.pk).script  # type: ignore[attr-defined]
    assert "Library" in InteractionStep.objects.get(pk=theirs.pk).script  # type: ignore[attr-defined]
    assert CannedResponse.objects.get(pk=canned.pk).text == "The School on Elm St."  # type: ignore[attr-defined]


def test_another_organization_cannot_be_chosen(
    owner_client: Client, other_organization: Organization, scripts: dict[str, object]
) -> None:
    response = owner_client.post(
        reverse(URL), {"organization": other_organization.pk, "find": "Library", "replace": "X", "apply": "1"}
    )
    assert response.status_code == 200 and response.context["changes"] is None
    assert not InteractionStep.objects.filter(script__contains="X").exists()


def test_supervolunteer_has_no_find_and_replace(client: Client, supervolunteer: User, campaign: Campaign) -> None:
    client.force_login(supervolunteer)
    assert client.get(reverse(URL)).status_code == 403
    assert b"Find and replace" not in client.get(reverse("admin:campaigns_campaign_changelist")).content
