"""manage.py start_campaign CAMPAIGN"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from campaigns.management.lookups import campaign_from_arg
from campaigns.services import campaign_start
from core.errors import ApplicationError


class Command(BaseCommand):
    help = (
        "Start a campaign so its texters can send first messages. Refuses (status 1, saying what "
        "to fix) a campaign with no contacts, no script, or unassigned contacts without dynamic "
        "assignment. Example: manage.py start_campaign 12"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("campaign", help="The campaign's id.")

    def handle(self, *args: Any, campaign: str, **options: Any) -> None:
        target = campaign_from_arg(campaign)
        if target.is_started:
            self.stdout.write(f"“{target.title}” had already started.")
            return
        try:
            campaign_start(campaign=target)
        except ApplicationError as error:
            raise CommandError(error.message) from error
        self.stdout.write(self.style.SUCCESS(f"“{target.title}” has started: texters can send their first messages."))
