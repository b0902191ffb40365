"""Every API list costs a fixed number of statements, however many rows the page holds."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from campaigns.models import Campaign, Contact, OptOutSource
from campaigns.services import optout_create
from spoke.testing import AssignmentFactory, CampaignFactory, ContactFactory, MessageFactory, TagFactory

pytestmark = pytest.mark.django_db

LISTS = [
    "/api/v1/organizations/",
    "/api/v1/campaigns/",
    "/api/v1/interaction-steps/",
    "/api/v1/canned-responses/",
    "/api/v1/contacts/",
    "/api/v1/import-jobs/",
    "/api/v1/assignments/",
    "/api/v1/messages/",
    "/api/v1/optouts/",
    "/api/v1/tags/",
    "/api/v1/exports/",
]


def statements(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as context:
        assert client.get(url).status_code == 200
    return len(context.captured_queries)


def add_rows(campaign: Campaign, texter: User, n: int) -> None:
    assignment = AssignmentFactory.create(
        campaign=CampaignFactory.create(organization=campaign.organization), texter=texter
    )
    for i in range(n):
        contact = ContactFactory.create(campaign=assignment.campaign, assignment=assignment)
        MessageFactory.create(contact=contact)
        TagFactory.create(organization=campaign.organization, name=f"tag {n}-{i}")
        optout_create(organization=campaign.organization, cell=f"+1202555{n:02d}{i:02d}", source=OptOutSource.ORGANIZER)


@pytest.mark.parametrize("url", LISTS)
def test_list_statements_do_not_grow_with_rows(owner_client: Client, contact: Contact, texter: User, url: str) -> None:
    add_rows(contact.campaign, texter, 1)
    few = statements(owner_client, url)
    add_rows(contact.campaign, texter, 6)
    assert statements(owner_client, url) == few
