"""manage.py archive_campaign CAMPAIGN [--unarchive]"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from campaigns.management.lookups import campaign_from_arg
from campaigns.services import campaign_archive


class Command(BaseCommand):
    help = (
        "Archive a campaign: texters no longer see it and its queued messages are not sent. "
        "--unarchive brings it back. Example: manage.py archive_campaign 12"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("campaign", help="The campaign's id.")
        parser.add_argument("--unarchive", action="store_true", help="Bring an archived campaign back instead.")

    def handle(self, *args: Any, campaign: str, unarchive: bool, **options: Any) -> None:
        target = campaign_from_arg(campaign)
        campaign_archive(campaign=target, archived=not unarchive)
        state = "is no longer archived" if unarchive else "is archived: texters no longer see it"
        self.stdout.write(self.style.SUCCESS(f"“{target.title}” {state}."))
