"""Command-line arguments that name campaigns."""

from __future__ import annotations

from django.core.management.base import CommandError

from campaigns.models import Campaign


def campaign_from_arg(value: str) -> Campaign:
    if not value.strip().isdigit():
        raise CommandError(f"CAMPAIGN is a campaign's id (a number), not {value!r}. The admin shows it in the address.")
    campaign = Campaign.objects.select_related("organization").filter(pk=int(value)).first()
    if campaign is None:
        raise CommandError(f"There is no campaign {value}.")
    return campaign
