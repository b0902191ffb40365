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
