"""The OpenAPI schema: it generates without warnings, serves with its docs, and schemathesis
finds no 500 on generated input against it (with a real token, on real data)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, given, settings
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode

from accounts.models import User
from campaigns.models import Campaign, Contact

pytestmark = pytest.mark.django_db


def test_schema_generates_without_warnings(tmp_path: Any) -> None:
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    text = target.read_text()
    assert "/api/v1/campaigns/{id}/start/" in text
    assert "/api/v1/contacts/import/" in text


def test_schema_and_docs_are_served(client: Client) -> None:
    response = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "Spoke API"
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 200
    assert b"/static/drf_spectacular_sidecar/swagger-ui-dist/" in docs.content  # no CDN
    assert client.get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js").status_code == 200


@pytest.fixture
def api_schema(db: None) -> Iterator[Any]:
    # The WSGI handler closes the database connection after each request, which would close
    # the test's transaction; Django's test client keeps it open the same way.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", get_wsgi_application())
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def token(owner: User, contact: Contact, campaign: Campaign) -> str:
    # Real rows for generated ids to hit, besides the many that miss.
    return Token.objects.create(user=owner).key


def test_api_never_answers_500(api_schema: Any, token: str) -> None:
    """Every operation, a handful of generated requests each (valid and not), with a real token.

    Driven through schemathesis's Python API rather than its pytest plugin, which does not
    support this pytest version yet."""
    failures: list[str] = []
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 30

    for operation in operations:
        strategy = operation.as_strategy(GenerationMode.POSITIVE) | operation.as_strategy(GenerationMode.NEGATIVE)

        @given(case=strategy)
        @settings(
            max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None
        )
        def check(case: Any) -> None:
            response = case.call(headers={"Authorization": f"Token {token}"})
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path} {case.query or ''} {case.body!r:.200}: {response.status_code}"
                )

        check()
    assert failures == []
