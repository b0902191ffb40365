from __future__ import annotations

from django.conf import settings

from texting.providers.base import Provider


def get_provider(name: str | None = None, *, account_sid: str = "", auth_token: str = "") -> Provider:
    """The configured provider; `account_sid`/`auth_token` are an organization's own Twilio account."""
    backend = name or settings.SMS_BACKEND
    if backend == "fake":
        from texting.providers.fake import FakeProvider

        return FakeProvider()
    if backend == "twilio":
        from texting.providers.twilio import TwilioProvider

        return TwilioProvider.from_settings(account_sid=account_sid, auth_token=auth_token)
    raise ValueError(f"Unknown SMS backend {backend!r}")
