"""`manage.py maintenance on|off|status [--message TEXT]`: the maintenance switch for every process."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ops.maintenance import maintenance_get, maintenance_set
from texting.monitoring import outbox_resume


class Command(BaseCommand):
    help = (
        "Turn maintenance mode on or off. While on, texters see a notice, sends and API writes answer 503, "
        "webhooks are still stored and the outbox waits; turning it off sends what waited."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("state", choices=["on", "off", "status"])
        parser.add_argument("--message", default="", help="The notice texters see (default: MAINTENANCE_MESSAGE).")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["state"] != "status":
            enabled = options["state"] == "on"
            if not enabled and options["message"]:
                raise CommandError("--message goes with 'on': it is the notice texters see while maintenance is on.")
            maintenance_set(enabled=enabled, message=options["message"], acting="manage.py")
            if not enabled:
                services = outbox_resume()
                if services:
                    self.stdout.write(f"Resumed the outbox of {len(services)} messaging service(s).")
        state = maintenance_get()
        if state.forced:
            self.stdout.write(
                "Maintenance is ON, forced by MAINTENANCE_MODE in the environment: unset it to turn it off."
            )
        elif state.enabled:
            self.stdout.write(f"Maintenance is ON: {state.message}")
        else:
            self.stdout.write("Maintenance is OFF.")
        if not settings.REDIS_URL and options["state"] != "status":
            # The switch reaches other processes through the shared cache; without Redis each
            # process has a cache of its own.
            self.stdout.write(
                "Note: without REDIS_URL (the embedded `make run` setup) a server that is already running "
                "does not see this. Switch it on the back office's System status page (superusers) or "
                "start the server with MAINTENANCE_MODE=true."
            )
