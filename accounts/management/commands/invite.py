"""manage.py invite ORGANIZATION --role ROLE"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.management.lookups import organization_from_arg
from accounts.models import Role
from accounts.services import invite_create, invite_url
from core.errors import ApplicationError

ROLES = [role for role in Role.values if role != Role.SUSPENDED]


class Command(BaseCommand):
    help = (
        "Print a join link for an organization. Whoever opens it joins with the role you choose "
        "(creating an account there if they have none). The link works once and expires after "
        "INVITE_MAX_AGE_DAYS days. Example: manage.py invite 'Vote Forward' --role texter"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("organization", help="The organization's id or exact name.")
        parser.add_argument("--role", default=Role.TEXTER, help=f"One of {', '.join(ROLES)} (default: texter).")
        parser.add_argument("--email", default="", help="Who it is for (shown on the join page); optional.")

    def handle(self, *args: Any, organization: str, role: str, email: str, **options: Any) -> None:
        org = organization_from_arg(organization)
        try:
            invite = invite_create(organization=org, role=role.strip().lower(), email=email)
        except ApplicationError as error:
            raise CommandError(error.message) from error
        self.stdout.write(invite_url(invite=invite))
        self.stderr.write(
            f"Join link for {org.name} as {invite.get_role_display().lower()}, "
            f"valid {settings.INVITE_MAX_AGE_DAYS} days, once."
        )
