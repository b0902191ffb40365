from __future__ import annotations

from django.conf import settings

from texting.providers.base import Provider


def get_provider(name: str | None = None) -> Provider:
    backend = name or settings.SMS_BACKEND
    if backend == "fake":
        from texting.providers.fake import FakeProvider

        return FakeProvider()
    if backend == "twilio":
        from texting.providers.twilio import TwilioProvider

        return TwilioProvider.from_settings()
    raise ValueError(f"Unknown SMS backend {backend!r}")
