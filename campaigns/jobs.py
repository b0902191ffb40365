"""RQ jobs. Thin: each takes JSON primitives and calls one service."""

from __future__ import annotations

import logging

from campaigns import importing
from campaigns.models import ImportJob

logger = logging.getLogger(__name__)


def import_contacts(*, import_job_id: int) -> None:
    """Run one contact upload queued by `contacts_import_start` (queue "imports")."""
    try:
        importing.contacts_import_run(import_job_id=import_job_id)
    except ImportJob.DoesNotExist:
        # The campaign, and its import jobs with it, was deleted before the job ran: nothing to do.
        logger.info("Contact import %s no longer exists", import_job_id)


# --- Bulk review actions (queued by the back office when they touch many contacts) ---------------


def reassign_contacts(*, contact_ids: list[int], texter_ids: list[int]) -> None:
    from campaigns.services import contacts_reassign

    contacts_reassign(contact_ids=contact_ids, texter_ids=texter_ids)


def unassign_contacts(*, contact_ids: list[int]) -> None:
    from campaigns.services import contacts_unassign

    contacts_unassign(contact_ids=contact_ids)


def close_contacts(*, contact_ids: list[int]) -> None:
    from campaigns.services import contacts_close_many

    contacts_close_many(contact_ids=contact_ids)


def assign_contacts(*, campaign_id: int, wanted: list[list[int]], split_texter_ids: list[int]) -> None:
    """A large assignment from the texters page: `wanted` is [[texter id, count], ...]."""
    from accounts.models import User
    from campaigns.models import Campaign
    from campaigns.services import contacts_assign_many, contacts_split_evenly

    campaign = Campaign.objects.get(pk=campaign_id)
    people = User.objects.in_bulk([texter_id for texter_id, _ in wanted] + split_texter_ids)
    if wanted:
        contacts_assign_many(campaign=campaign, counts=[(people[texter_id], count) for texter_id, count in wanted])
    if split_texter_ids:
        contacts_split_evenly(campaign=campaign, texters=[people[pk] for pk in split_texter_ids])


def import_optouts(*, organization_id: int, cells: list[str], reason: str, acting_user_id: int | None) -> None:
    """One chunk of an opt-out file imported from the back office."""
    from accounts.models import User
    from campaigns.models import OptOutSource
    from campaigns.services import optout_create

    user = User.objects.filter(pk=acting_user_id).first() if acting_user_id else None
    for cell in cells:
        optout_create(
            organization=organization_id, cell=cell, source=OptOutSource.IMPORT, reason=reason, acting_user=user
        )
