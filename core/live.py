"""Publish small live-update events to Channels groups once the transaction commits.

Groups are named `texter.<user id>` and `campaign.<id>`. Payloads carry ids and counts only;
a page fetches whatever else it needs.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)


def texter_group(user_id: int) -> str:
    return f"texter.{user_id}"


def campaign_group(campaign_id: int) -> str:
    return f"campaign.{campaign_id}"


def publish_on_commit(group: str, event: str, **payload: Any) -> None:
    def _send() -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        message = {"type": "live.event", "event": event, "payload": payload}
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is not None:
            # Called from code already inside an event loop: hand it the send rather than block it.
            loop.create_task(layer.group_send(group, message))
            return
        try:
            async_to_sync(layer.group_send)(group, message)
        except Exception:  # a lost live update must never fail the write that caused it
            logger.exception("live update %s to %s failed", event, group)

    transaction.on_commit(_send)


REASSIGNED_IDS_LIMIT = 500


def publish_contacts_reassigned(*, texter_id: int, campaign_id: int, contact_ids: list[int]) -> None:
    """Tell a texter's pages that these contacts are no longer theirs: the page showing one of them
    says so and moves on. Past a few hundred ids the page just re-checks the contact it shows."""
    ids = contact_ids if len(contact_ids) <= REASSIGNED_IDS_LIMIT else []
    publish_on_commit(texter_group(texter_id), "contacts_reassigned", campaign_id=campaign_id, contact_ids=ids)
