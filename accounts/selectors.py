from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import ORGANIZER_ROLES, Membership, Organization, Role, User


def organizations_for_organizer(*, user: User) -> QuerySet[Organization]:
    """Organizations where the user may use the back office (supervolunteer and up)."""
    if user.is_superuser:
        return Organization.objects.all()
    return Organization.objects.filter(memberships__user=user, memberships__role__in=ORGANIZER_ROLES)


def organizations_for_role(*, user: User, role: str) -> QuerySet[Organization]:
    if user.is_superuser:
        return Organization.objects.all()
    org_ids = Membership.objects.filter(user=user).at_least(role).values("organization_id")
    return Organization.objects.filter(id__in=org_ids)


def membership_get(*, user: User, organization_id: int) -> Membership | None:
    return Membership.objects.filter(user=user, organization_id=organization_id).first()


def is_organizer(*, user: User) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or Membership.objects.filter(user=user, role__in=ORGANIZER_ROLES).exists()


def texters_for_organization(*, organization: Organization) -> QuerySet[User]:
    return User.objects.filter(
        memberships__organization=organization,
        memberships__role__in=[Role.OWNER, Role.ADMIN, Role.SUPERVOLUNTEER, Role.TEXTER],
        is_active=True,
    ).order_by("first_name", "last_name", "email")
