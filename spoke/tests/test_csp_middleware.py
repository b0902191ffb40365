"""core.csp.CSPMiddleware: the same Content-Security-Policy django-csp sends, built once per process."""

from __future__ import annotations

import pytest
from csp.decorators import csp_exempt, csp_update
from csp.middleware import CSPMiddleware as DjangoCSPMiddleware
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory
from pytest_django.fixtures import Settings as SettingsWrapper

from core import csp as ours


def _both(view: object, *, nonce: bool = False) -> tuple[dict[str, str], dict[str, str]]:
    """The headers each middleware puts on the same view's response."""
    answers = []
    for middleware_class in (DjangoCSPMiddleware, ours.CSPMiddleware):
        request = RequestFactory().get("/texter/")
        middleware = middleware_class(view)  # type: ignore[arg-type]
        middleware.process_request(request)
        if nonce:
            str(request.csp_nonce)  # type: ignore[attr-defined]  # a template used the nonce
            request._csp_nonce = "fixed"  # type: ignore[attr-defined]
        response = middleware.process_response(request, view(request))  # type: ignore[operator]
        answers.append({k: v for k, v in response.items() if k.startswith("Content-Security-Policy")})
    return answers[0], answers[1]


def plain(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


@csp_update({"img-src": ["https://images.example.com"]})
def updated(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


@csp_exempt()
def exempt(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


@pytest.mark.parametrize(("view", "nonce"), [(plain, False), (plain, True), (updated, False), (exempt, False)])
def test_the_header_is_django_csps(view: object, nonce: bool) -> None:
    django_csp, mine = _both(view, nonce=nonce)
    assert mine == django_csp
    if view is exempt:
        assert mine == {}
    else:
        assert "default-src" in mine["Content-Security-Policy"]


def test_a_settings_change_rebuilds_it(settings: SettingsWrapper) -> None:
    before = _both(plain)[1]["Content-Security-Policy"]
    policy = dict(settings.CONTENT_SECURITY_POLICY)
    policy["DIRECTIVES"] = {**policy["DIRECTIVES"], "img-src": ["'self'", "https://cdn.example.com"]}
    settings.CONTENT_SECURITY_POLICY = policy
    django_csp, mine = _both(plain)
    assert mine == django_csp
    assert mine["Content-Security-Policy"] != before and "https://cdn.example.com" in mine["Content-Security-Policy"]
