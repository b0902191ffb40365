"""Every write to users, organizations and memberships."""

from __future__ import annotations

import datetime
import logging
from collections.abc import Mapping

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from accounts.models import Invite, Membership, Organization, Role, User
from campaigns.services import texter_assignments_release
from core.errors import ApplicationError
from core.live import close_sockets_on_commit

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
def user_sessions_end(*, user: User) -> None:
    """Log the user out everywhere: every session (any engine) stops working at its next request,
    and their open websockets close once this commits."""
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(session_epoch=F("session_epoch") + 1)
        user.refresh_from_db(fields=["session_epoch"])
        close_sockets_on_commit(user_id=user.pk)


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
    Refuses to demote the organization's last owner. Suspending takes effect at once: the
    person's unsent contacts go back to the pool and their open texter pages are closed."""
    _lock_organization(organization.pk)
    if role != Role.OWNER and _is_sole_owner(organization.pk, user.pk):
        raise ApplicationError(OWNER_NEEDED, code="last_owner")
    membership, _ = Membership.objects.update_or_create(
        user=user, organization=organization, defaults={"role": Role(role)}
    )
    owner_staff_sync(user=user)
    if role == Role.SUSPENDED:
        texter_assignments_release(organization_id=organization.pk, user_id=user.pk)
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership, acting_user: User) -> None:
    """Take the person out of the organization; their back-office access (`is_staff`) follows the
    roles they keep elsewhere. Their unsent contacts go back to the pool; conversations waiting for
    their reply stay under their name for organizers to reassign. Refuses to remove the last owner."""
    _lock_organization(membership.organization_id)
    # The saved role decides, not the instance's: an inline row may carry an edited role.
    if _is_sole_owner(membership.organization_id, membership.user_id):
        raise ApplicationError(OWNER_NEEDED, code="last_owner")
    # Like a suspension: their unsent contacts go back to the pool and their pages close at once.
    texter_assignments_release(organization_id=membership.organization_id, user_id=membership.user_id)
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


# --- Invitations ------------------------------------------------------------------------------


def invite_create(*, organization: Organization, role: str, email: str = "", acting_user: User | None = None) -> Invite:
    """A join link for the organization with `role`, valid for INVITE_MAX_AGE_DAYS."""
    if role not in Role.values or role == Role.SUSPENDED:
        choices = ", ".join(r for r in Role.values if r != Role.SUSPENDED)
        raise ApplicationError(f"Unknown role {role!r}: use one of {choices}.", code="invalid_role")
    return Invite.objects.create(
        organization=organization,
        role=role,
        email=email.strip().lower(),
        created_by=acting_user,
        expires_at=timezone.now() + datetime.timedelta(days=settings.INVITE_MAX_AGE_DAYS),
    )


def invite_url(*, invite: Invite) -> str:
    return f"{settings.PUBLIC_BASE_URL}{reverse('join', args=[invite.token])}"


def invite_get_usable(*, token: str) -> Invite:
    invite = Invite.objects.select_related("organization").filter(token=token).first()
    if invite is None:
        raise ApplicationError("This join link is not valid: ask your organizer for a new one.", status=404)
    if invite.accepted_at is not None:
        raise ApplicationError("This join link was already used: ask your organizer for a new one.", status=410)
    if invite.expires_at <= timezone.now():
        raise ApplicationError("This join link has expired: ask your organizer for a new one.", status=410)
    return invite


@transaction.atomic
def invite_accept(*, token: str, user: User) -> Membership:
    """Join the invite's organization with its role, once. A member already there keeps the
    higher of their role and the invited one (an invite never demotes)."""
    invite = invite_get_usable(token=token)
    claimed = Invite.objects.filter(pk=invite.pk, accepted_at__isnull=True).update(
        accepted_at=timezone.now(), accepted_by=user
    )
    if not claimed:
        raise ApplicationError("This join link was already used: ask your organizer for a new one.", status=410)
    existing = Membership.objects.filter(user=user, organization=invite.organization).first()
    if existing is not None and (existing.role == Role.SUSPENDED or existing.has_role(invite.role)):
        # A suspended member is not let back in by an old link; a higher role is kept.
        if existing.role == Role.SUSPENDED:
            raise ApplicationError("Your access to this organization is suspended: ask an organizer.", status=403)
        return existing
    return membership_set(organization=invite.organization, user=user, role=invite.role)
