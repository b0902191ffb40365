"""texting_message carries only the indexes its queries need: every send, worker result and
delivery report writes each index again (a message row is never HOT-updated)."""

from __future__ import annotations

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


def _indexes() -> dict[str, list[str]]:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "texting_message")
    return {name: info["columns"] for name, info in constraints.items() if info["index"] or info["unique"]}


def test_no_index_another_one_already_starts_with() -> None:
    indexes = _indexes()
    columns = sorted(tuple(cols) for cols in indexes.values())
    assert ("campaign_id",) not in columns  # message_campaign_stats starts with it
    assert ("contact_id",) not in columns  # message_thread starts with it
    assert ("campaign_id", "direction", "status") in columns
    assert ("contact_id", "id") in columns
    assert not [name for name in indexes if name.endswith("_like")]  # no LIKE copy of provider_sid
    assert ("provider_sid",) in columns  # still unique: one reply per MessageSid


def test_no_database_foreign_key_to_the_hot_rows_and_deletes_still_cascade() -> None:
    """Every send inserted a message whose foreign keys PostgreSQL checked with FOR KEY SHARE on
    the campaign's and the organization's rows, the same two rows for all of a campaign's sends.
    Those two are copies of the contact's, so they carry no database constraint; Django still
    deletes a campaign's or an organization's messages with it."""
    from spoke.testing import MessageFactory
    from texting.models import Message

    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "texting_message")
    referenced = {info["foreign_key"][0] for info in constraints.values() if info["foreign_key"]}
    assert "campaigns_campaign" not in referenced and "accounts_organization" not in referenced
    assert "campaigns_contact" in referenced  # the contact's key is still checked

    message = MessageFactory.create()
    assert message.campaign is not None and message.organization is not None
    kept = MessageFactory.create()
    message.campaign.delete()
    assert not Message.objects.filter(pk=message.pk).exists()
    kept.organization.delete()
    assert not Message.objects.filter(pk=kept.pk).exists()
