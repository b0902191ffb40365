from __future__ import annotations

from django.db import transaction

from accounts.models import Membership, Organization, Role, User


def user_create(*, email: str, password: str | None, first_name: str = "", last_name: str = "") -> User:
    return User.objects.create_user(email=email, password=password, first_name=first_name, last_name=last_name)


@transaction.atomic
def organization_create(*, name: str, owner: User) -> Organization:
    organization = Organization.objects.create(name=name)
    Membership.objects.create(user=owner, organization=organization, role=Role.OWNER)
    owner_staff_sync(user=owner)
    return organization


@transaction.atomic
def membership_set(*, organization: Organization, user: User, role: str) -> Membership:
    membership, _ = Membership.objects.update_or_create(
        user=user, organization=organization, defaults={"role": Role(role)}
    )
    owner_staff_sync(user=user)
    return membership


def owner_staff_sync(*, user: User) -> None:
    """Organizers reach Django admin through `is_staff`; keep it equal to holding an organizer role."""
    should_be_staff = (
        user.is_superuser
        or Membership.objects.filter(user=user, role__in=[Role.OWNER, Role.ADMIN, Role.SUPERVOLUNTEER]).exists()
    )
    if user.is_staff != should_be_staff:
        user.is_staff = should_be_staff
        user.save(update_fields=["is_staff"])
