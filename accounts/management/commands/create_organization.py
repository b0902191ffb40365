"""manage.py create_organization NAME --owner EMAIL"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import User
from accounts.services import organization_create, user_create


class Command(BaseCommand):
    help = (
        "Create an organization with its first owner. The owner is an existing user, or a new one "
        "when you pass --create-owner (give --password, or set one later with `manage.py changepassword`). "
        "Example: manage.py create_organization 'Vote Forward' --owner ana@example.org --create-owner"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("name", help="The organization's name, as texters and organizers will see it.")
        parser.add_argument("--owner", required=True, help="Email of the person who will own it.")
        parser.add_argument(
            "--create-owner", action="store_true", help="Create the owner's account if it does not exist."
        )
        parser.add_argument("--password", default="", help="Password for a newly created owner (optional).")

    def handle(self, *args: Any, name: str, owner: str, create_owner: bool, password: str, **options: Any) -> None:
        name = name.strip()
        if not name:
            raise CommandError("Give the organization a name.")
        email = owner.strip().lower()
        with transaction.atomic():
            user = User.objects.filter(email__iexact=email).first()
            if user is None:
                if not create_owner:
                    raise CommandError(f"No user with the email {email!r}: add --create-owner to create one.")
                if password:
                    try:
                        validate_password(password)
                    except ValidationError as error:
                        raise CommandError(" ".join(error.messages)) from error
                user = user_create(email=email, password=password or None)
                if not password:
                    user.set_unusable_password()
                    user.save(update_fields=["password"])
            organization = organization_create(name=name, owner=user)
        self.stdout.write(
            self.style.SUCCESS(f"Created organization {organization.pk} “{organization.name}”, owned by {user.email}.")
        )
        if not user.has_usable_password():
            self.stdout.write(f"Set the owner's password with: manage.py changepassword {user.email}")
