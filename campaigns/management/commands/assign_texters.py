"""manage.py assign_texters CAMPAIGN (EMAIL=COUNT ... | --split EMAIL ...)"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import User
from accounts.selectors import texters_for_organization
from campaigns.management.lookups import campaign_from_arg
from campaigns.models import Campaign
from campaigns.selectors import contact_count_unassigned
from campaigns.services import contacts_assign_many, contacts_split_evenly
from core.errors import ApplicationError


class Command(BaseCommand):
    help = (
        "Give texters unassigned contacts of a campaign: EMAIL=COUNT pairs give each that many more, "
        "or --split shares every unassigned contact evenly between the texters named. Texters must "
        "be members of the campaign's organization. Examples: "
        "manage.py assign_texters 12 ada@example.org=200 grace@example.org=150 ; "
        "manage.py assign_texters 12 --split ada@example.org grace@example.org"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("campaign", help="The campaign's id.")
        parser.add_argument("texters", nargs="+", help="EMAIL=COUNT pairs, or emails with --split.")
        parser.add_argument("--split", action="store_true", help="Split all unassigned contacts evenly between them.")

    def handle(self, *args: Any, campaign: str, texters: list[str], split: bool, **options: Any) -> None:
        target = campaign_from_arg(campaign)
        try:
            with transaction.atomic():
                if split:
                    people = [self._texter(target, email) for email in texters]
                    shares = contacts_split_evenly(campaign=target, texters=people)
                    results = [(person, shares[person.pk]) for person in people]
                else:
                    wanted = []
                    for pair in texters:
                        email, _, count = pair.partition("=")
                        if not count.strip().isdigit():
                            raise CommandError(
                                f"{pair!r}: write EMAIL=COUNT, like ada@example.org=200 (or use --split)."
                            )
                        wanted.append((self._texter(target, email), int(count)))
                    shares = contacts_assign_many(campaign=target, counts=wanted)
                    results = [(person, shares[person.pk]) for person in dict.fromkeys(person for person, _ in wanted)]
        except ApplicationError as error:
            raise CommandError(error.message) from error
        for person, given in results:
            self.stdout.write(f"{person.email}: {given} contact{'' if given == 1 else 's'}")
        left = contact_count_unassigned(campaign=target)
        self.stdout.write(self.style.SUCCESS(f"Assigned {sum(c for _, c in results)}; {left} still unassigned."))

    def _texter(self, campaign: Campaign, email: str) -> User:
        person = (
            texters_for_organization(organization=campaign.organization).filter(email__iexact=email.strip()).first()
        )
        if person is None:
            raise CommandError(f"{email!r} is not an active member of {campaign.organization.name}: invite them first.")
        return person
