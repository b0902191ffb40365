"""django-csp's middleware, building the policy once per process for responses that use the default.

django-csp builds the Content-Security-Policy header from settings on every response; in the
benchmark's profile that was a tenth of a delivery report's CPU. The header depends only on the
settings unless a view changed the policy (django-csp's decorators) or the page used a nonce,
so those responses go through django-csp as before and every other one gets the header built
once (rebuilt when the settings change: tests). Same header, same exemptions.
"""

from __future__ import annotations

import functools
from typing import Any

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject
from csp.middleware import CSPMiddleware as DjangoCSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.core.signals import setting_changed
from django.http import HttpRequest, HttpResponseBase

# Set on a response by django-csp's decorators: such a response has its own policy.
PER_RESPONSE = ("_csp_config", "_csp_update", "_csp_replace", "_csp_config_ro", "_csp_update_ro", "_csp_replace_ro")
HEADERS = (
    (HEADER, False, "_csp_exempt", "CONTENT_SECURITY_POLICY"),
    (HEADER_REPORT_ONLY, True, "_csp_exempt_ro", "CONTENT_SECURITY_POLICY_REPORT_ONLY"),
)


@functools.cache
def _default_policy(report_only: bool, setting: str) -> tuple[str, tuple[str, ...]]:
    """(header value, excluded URL prefixes) for the policy in settings."""
    policy = getattr(settings, setting, None) or {}
    return build_policy(report_only=report_only), tuple(policy.get("EXCLUDE_URL_PREFIXES", None) or ())


def _forget(setting: str, **kwargs: Any) -> None:
    if setting.startswith("CONTENT_SECURITY_POLICY") or setting == "DEBUG":
        _default_policy.cache_clear()


setting_changed.connect(_forget, dispatch_uid="core.csp.forget")


class CSPMiddleware(DjangoCSPMiddleware):
    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        own_policy = any(getattr(response, name, None) is not None for name in PER_RESPONSE)
        if own_policy or getattr(request, "_csp_nonce", None) is not None:
            return super().process_response(request, response)
        if response.status_code in (500, 404) and settings.DEBUG:
            return response  # Django's debug pages (django-csp leaves them alone too)
        for header, report_only, exempt, setting in HEADERS:
            value, excluded = _default_policy(report_only, setting)
            if (
                value
                and header not in response
                and not getattr(response, exempt, False)
                and not request.path_info.startswith(excluded)
            ):
                response[header] = value
        # As django-csp: asking for a nonce after the header is written is an error.
        setattr(request, "csp_nonce", CheckableLazyObject(self._csp_nonce_post_response))  # noqa: B010
        return response
