"""Every write to users, organizations and memberships."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from django.db import transaction

from accounts.models import Membership, Organization, Role, User
from core.errors import ApplicationError

logger = logging.getLogger(__name__)

OWNER_NEEDED = "An organization needs at least one owner: make someone else owner first."

# What an organizer edits on their organization's settings page.
ORGANIZATION_SETTINGS = (
    "name",
    "texting_hours_enforced",
    "texting_hours_start",
    "texting_hours_end",
    "default_timezone",
    "opt_out_message",
    "messaging_service_sid",
    "send_rate_per_second",
    "twilio_account_sid",
    "twilio_auth_token",
)


def user_create(*, email: str, password: str | None, first_name: str = "", last_name: str = "") -> User:
    return User.objects.create_user(email=email, password=password, first_name=first_name, last_name=last_name)


@transaction.atomic
def organization_create(*, name: str, owner: User) -> Organization:
    organization = Organization.objects.create(name=name)
    Membership.objects.create(user=owner, organization=organization, role=Role.OWNER)
    owner_staff_sync(user=owner)
    return organization


def organization_settings_save(
    *, organization: Organization, values: Mapping[str, object], acting_user: User
) -> Organization:
    """Write validated settings (names from ORGANIZATION_SETTINGS) to the organization.

    Only those fields are written, so a concurrent change to another column is not overwritten.
    An organization not saved yet (a superuser's add page) is created with them; its owner is
    added by the same request, in the same transaction, since an organization must have one.
    """
    unknown = set(values) - set(ORGANIZATION_SETTINGS)
    if unknown:
        raise ValueError(f"Not organization settings: {', '.join(sorted(unknown))}")
    for name, value in values.items():
        setattr(organization, name, value)
    if organization._state.adding:
        organization.save()
    else:
        organization.save(update_fields=sorted(values))
    # Ids only: credentials are among the settings and never reach the logs.
    logger.info("organization %s settings saved by user %s", organization.pk, acting_user.pk)
    return organization


def membership_check_owner_remains(*, membership: Membership, role: str | None) -> None:
    """Refuse (ApplicationError) when giving `membership` this role (None: removing it) would leave
    its organization without an owner. For forms and permission checks, on a membership as loaded
    from the database; the services below check again, under a lock."""
    if membership.pk is None or membership.role != Role.OWNER or role == Role.OWNER:
        return
    if _is_sole_owner(membership.organization_id, membership.user_id):
        raise ApplicationError(OWNER_NEEDED, code="last_owner")


def _is_sole_owner(organization_id: int, user_id: int) -> bool:
    owners = Membership.objects.filter(organization_id=organization_id, role=Role.OWNER)
    return set(owners.values_list("user_id", flat=True)[:2]) == {user_id}


def _lock_organization(organization_id: int) -> None:
    """Serialize changes to an organization's roles: two organizers each demoting or removing one
    of the last two owners at once must not both succeed."""
    list(Organization.objects.select_for_update().filter(pk=organization_id).values_list("pk", flat=True))


@transaction.atomic
def membership_set(*, organization: Organization, user: User, role: str) -> Membership:
    """Give `user` this role in the organization, adding them if they are not a member yet.
    Refuses to demote the organization's last owner."""
    _lock_organization(organization.pk)
    if role != Role.OWNER and _is_sole_owner(organization.pk, user.pk):
        raise ApplicationError(OWNER_NEEDED, code="last_owner")
    membership, _ = Membership.objects.update_or_create(
        user=user, organization=organization, defaults={"role": Role(role)}
    )
    owner_staff_sync(user=user)
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership, acting_user: User) -> None:
    """Take the person out of the organization; their back-office access (`is_staff`) follows the
    roles they keep elsewhere. Refuses to remove the organization's last owner."""
    _lock_organization(membership.organization_id)
    # The saved role decides, not the instance's: an inline row may carry an edited role.
    if _is_sole_owner(membership.organization_id, membership.user_id):
        raise ApplicationError(OWNER_NEEDED, code="last_owner")
    membership.delete()
    owner_staff_sync(user=membership.user)
    logger.info(
        "membership of user %s in organization %s removed by user %s",
        membership.user_id,
        membership.organization_id,
        acting_user.pk,
    )


def owner_staff_sync(*, user: User) -> None:
    """Organizers reach Django admin through `is_staff`; keep it equal to holding an organizer role."""
    should_be_staff = (
        user.is_superuser
        or Membership.objects.filter(user=user, role__in=[Role.OWNER, Role.ADMIN, Role.SUPERVOLUNTEER]).exists()
    )
    if user.is_staff != should_be_staff:
        user.is_staff = should_be_staff
        user.save(update_fields=["is_staff"])
