"""Turning what a person types on the command line into rows, or a clear CommandError."""

from __future__ import annotations

from django.core.management.base import CommandError

from accounts.models import Organization, User


def organization_from_arg(value: str) -> Organization:
    """An organization by id or exact name (case-insensitive)."""
    if value.isdigit():
        organization = Organization.objects.filter(pk=int(value)).first()
    else:
        matches = list(Organization.objects.filter(name__iexact=value.strip())[:2])
        if len(matches) > 1:
            raise CommandError(f"Several organizations are named {value!r}: give its id instead.")
        organization = matches[0] if matches else None
    if organization is None:
        names = ", ".join(f"{o.pk}: {o.name}" for o in Organization.objects.order_by("id")[:10]) or "none yet"
        raise CommandError(f"No organization {value!r}. Organizations (id: name): {names}.")
    return organization


def user_from_arg(value: str) -> User:
    user = User.objects.filter(email__iexact=value.strip()).first()
    if user is None:
        raise CommandError(f"No user with the email {value!r}.")
    return user
