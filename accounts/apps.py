from __future__ import annotations

from django.apps import AppConfig, apps


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "People and organizations"

    def ready(self) -> None:
        # DRF's token app shows as "Auth Token" in the back office; organizers know them as API tokens.
        # (It must stay listed as rest_framework.authtoken: DRF checks that name.)
        if apps.is_installed("rest_framework.authtoken"):
            apps.get_app_config("authtoken").verbose_name = "API tokens"
