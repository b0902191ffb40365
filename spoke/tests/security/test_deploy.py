"""Production settings: `check --deploy` is clean, security headers and the CSP are sent, and an
error page shows nothing of the settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path
from pytest_django.fixtures import Settings as SettingsWrapper

ROOT = Path(__file__).resolve().parents[3]
PRODUCTION_ENV = {
    "SPOKE_PRODUCTION": "true",
    "DJANGO_SECRET_KEY": "k3Jq8vP0-zXw2mR7tY5uB1nC6dF9gH4jL0aS3eQ8wE2rT7yU1iO5pA9sD4fG6hJ2",
    "ALLOWED_HOSTS": "spoke.example.org,www.spoke.example.org",
    "CSRF_TRUSTED_ORIGINS": "https://spoke.example.org",
    "TWILIO_AUTH_TOKEN": "twilio-secret-token-do-not-leak",
}


def _run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    # Not what a deployment has: the browser tests' conftest allows the ORM in Playwright's loop.
    test_only = {"DEBUG", "SPOKE_PRODUCTION", "ALLOWED_HOSTS", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    clean = {k: v for k, v in os.environ.items() if k not in test_only}
    return subprocess.run(  # noqa: S603 (our own interpreter and manage.py)
        [sys.executable, *args], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, check=False
    )


def test_production_settings_pass_check_deploy_with_no_warnings() -> None:
    result = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues (0 silenced)" in result.stdout


def test_check_deploy_fails_without_allowed_hosts_from_the_environment() -> None:
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "ALLOWED_HOSTS"}
    result = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **env)
    assert result.returncode != 0
    assert "ALLOWED_HOSTS" in result.stderr + result.stdout


def test_production_takes_hosts_and_origins_from_the_environment_and_turns_on_https() -> None:
    script = (
        "import json, spoke.settings as s; print(json.dumps([s.DEBUG, s.ALLOWED_HOSTS, s.CSRF_TRUSTED_ORIGINS,"
        " s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE]))"
    )
    result = _run(["-c", script], **PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    debug, hosts, origins, redirect, hsts, session_secure, csrf_secure = json.loads(result.stdout)
    assert debug is False
    assert hosts == ["spoke.example.org", "www.spoke.example.org"]
    assert origins == ["https://spoke.example.org"]
    assert redirect is True and hsts >= 31536000 and session_secure and csrf_secure


@pytest.mark.django_db
def test_every_page_carries_the_security_headers_and_a_csp_without_inline_script(client: Client) -> None:
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    policy = dict(part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";"))
    assert policy["script-src"] == "'self'"
    assert policy["default-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert "<script>" not in response.content.decode()


def _explode(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("something broke")


urlpatterns = [path("explode/", _explode)]


@pytest.mark.django_db
def test_an_error_page_shows_no_settings_and_no_secret(settings: SettingsWrapper) -> None:
    settings.ROOT_URLCONF = __name__
    settings.DEBUG = False
    settings.TWILIO_AUTH_TOKEN = "twilio-secret-token-do-not-leak"
    response = Client(raise_request_exception=False).get("/explode/")
    assert response.status_code == 500
    body = response.content.decode()
    assert "twilio-secret-token-do-not-leak" not in body
    assert settings.SECRET_KEY not in body
    assert "Traceback" not in body and "TWILIO" not in body and "something broke" not in body
