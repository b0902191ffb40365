"""manage.py api_token EMAIL [--revoke]"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand
from rest_framework.authtoken.models import Token

from accounts.management.lookups import user_from_arg


class Command(BaseCommand):
    help = (
        "Create (or replace) a user's REST API token and print it, or revoke it with --revoke. "
        "Use it as the header `Authorization: Token <key>` on /api/v1/. The API lets the user do "
        "what their roles allow in the back office. Example: manage.py api_token ana@example.org"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("email", help="The user's email.")
        parser.add_argument(
            "--revoke", action="store_true", help="Delete the user's token: scripts using it stop working."
        )

    def handle(self, *args: Any, email: str, revoke: bool, **options: Any) -> None:
        user = user_from_arg(email)
        deleted, _ = Token.objects.filter(user=user).delete()
        if revoke:
            self.stdout.write("Token revoked." if deleted else f"{user.email} had no token.")
            return
        token = Token.objects.create(user=user)
        self.stdout.write(token.key)
        if deleted:
            self.stderr.write("The previous token no longer works.")
