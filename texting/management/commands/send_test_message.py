"""manage.py send_test_message --to NUMBER"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from campaigns.phones import normalize_cell
from texting.providers import get_provider
from texting.providers.base import OutboundSMS, ProviderError


class Command(BaseCommand):
    help = (
        "Send one text straight through the configured SMS provider (SMS_BACKEND), outside any "
        "campaign, to check credentials and the messaging service. Nothing is stored. "
        "Example: manage.py send_test_message --to +12025550175 --body 'Hello from Spoke'"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--to", required=True, help="The phone to text, like +12025550175.")
        parser.add_argument("--body", default="This is a test message from Spoke.", help="The text to send.")
        parser.add_argument(
            "--messaging-service",
            default="",
            help="Twilio messaging service SID (default: TWILIO_MESSAGING_SERVICE_SID).",
        )

    def handle(self, *args: Any, to: str, body: str, messaging_service: str, **options: Any) -> None:
        cell = normalize_cell(to)
        if cell is None:
            raise CommandError(f"{to!r} is not a valid phone number: write it like +12025550175.")
        if not body.strip():
            raise CommandError("The message is empty: give some --body text.")
        service = messaging_service or settings.TWILIO_MESSAGING_SERVICE_SID
        try:
            result = get_provider().send(OutboundSMS(to=cell, body=body, messaging_service_sid=service))
        except ProviderError as error:
            code = f" (error {error.code})" if error.code else ""
            raise CommandError(f"The provider refused the message{code}: {error}") from error
        self.stdout.write(
            self.style.SUCCESS(
                f"Sent to {cell} through {settings.SMS_BACKEND}: message {result.sid}, status {result.status}."
            )
        )
