"""Login forms with throttling: the texter app's login page and the back office's."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm

from accounts.throttling import (
    LOCKED_MESSAGE,
    client_address,
    login_failure_record,
    login_locked,
    login_success_record,
)

THROTTLED = "throttled"


class ThrottledLoginMixin:
    """Refuse before checking the password once the account or address is locked; count failures."""

    request: Any
    cleaned_data: dict[str, Any]

    def clean(self) -> dict[str, Any]:
        email = str(self.cleaned_data.get("username") or "")
        address = client_address(self.request) if self.request is not None else ""
        if login_locked(email=email, address=address):
            raise forms.ValidationError(
                LOCKED_MESSAGE, code=THROTTLED, params={"minutes": max(settings.LOGIN_LOCKOUT_SECONDS // 60, 1)}
            )
        try:
            cleaned = super().clean()  # type: ignore[misc]
        except forms.ValidationError:
            login_failure_record(email=email, address=address)
            raise
        login_success_record(email=email)
        return cleaned


class ThrottledAuthenticationForm(ThrottledLoginMixin, AuthenticationForm):
    pass


class ThrottledAdminAuthenticationForm(ThrottledLoginMixin, AdminAuthenticationForm):
    pass
