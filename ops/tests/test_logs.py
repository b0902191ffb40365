"""Logs: request ids on every line, an optional JSON format, and no secret or message body in them.

The last test runs the real flows (log in, send, webhooks, an API call with a token, a join link,
a provider failing in a way nobody expected) with the production log handler's filters and
formatter, then greps everything written for each secret and body."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
from django.test import Client
from pytest_django.fixtures import Settings as SettingsWrapper
from rest_framework.authtoken.models import Token
from twilio.request_validator import RequestValidator

from accounts.models import User
from campaigns.models import Campaign, Contact
from ops.logs import JsonFormatter, RedactingFilter, RequestIdFilter, redact
from spoke.testing import PASSWORD
from texting.models import Direction, Message
from texting.providers.fake import FakeProvider

TWILIO_TOKEN = "f3a9c1d27be84e6a9d0c5b1e7a2f4c68"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """What the production console handler would write (same filters, JSON formatter), at INFO."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Authorization: Token 9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b", "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"),
        ("Authorization: Bearer abc.def-ghi_jkl", "abc.def-ghi_jkl"),
        ("POST username=a@b.org&password=hunter2hunter2&next=/", "hunter2hunter2"),
        ("{'auth_token': 'tok-123456789', 'sid': 'AC1'}", "tok-123456789"),
        ('{"twilio_auth_token": "tok-abcdefghi"}', "tok-abcdefghi"),
        ("Cookie: csrftoken=abcdefgh12345678; sessionid=s3ss10nk3yv4lu3", "s3ss10nk3yv4lu3"),
        ("GET /texter/join/6f1c2b1e-0000-4000-8000-1234567890ab/ 200", "6f1c2b1e-0000-4000-8000-1234567890ab"),
        ("GET /accounts/join/InviteTokenXYZ123/ 302", "InviteTokenXYZ123"),
        (f"twilio said no to {TWILIO_TOKEN}", TWILIO_TOKEN),
    ],
)
def test_redact_masks_every_kind_of_secret(text: str, secret: str, settings: SettingsWrapper) -> None:
    settings.TWILIO_AUTH_TOKEN = TWILIO_TOKEN
    masked = redact(text)
    assert secret not in masked and "[redacted]" in masked


def test_redact_leaves_ordinary_text_alone() -> None:
    text = "outbox drain paused for maintenance (MG123); 12 messages sent in 0.4s"
    assert redact(text) == text


@pytest.mark.django_db
def test_a_request_id_is_kept_when_well_formed_else_generated(client: Client, captured: io.StringIO) -> None:
    given = "edge-7f3a9c1d-42"
    assert client.get("/healthz", HTTP_X_REQUEST_ID=given)["X-Request-ID"] == given
    forged = client.get("/healthz", HTTP_X_REQUEST_ID="x\nERROR fake line")["X-Request-ID"]
    assert len(forged) == 32 and "\n" not in forged
    access = [line for line in lines(captured) if line["logger"] == "spoke.access"]
    assert [line["request_id"] for line in access] == [given, forged]
    assert access[0]["status_code"] == 200 and access[0]["message"].startswith("GET /healthz 200 ")


@pytest.mark.django_db(transaction=True)
def test_no_secret_or_message_body_reaches_the_logs_in_a_full_run(
    client: Client,
    captured: io.StringIO,
    settings: SettingsWrapper,
    campaign: Campaign,
    contact: Contact,
    texter: User,
    owner: User,
) -> None:
    settings.TWILIO_AUTH_TOKEN, settings.TWILIO_ACCOUNT_SID = TWILIO_TOKEN, "AC" + "4" * 32
    Campaign.objects.filter(pk=campaign.pk).update(texters_can_edit_first_message=True)
    body = f"Private words {uuid.uuid4().hex}"
    reply = f"My own answer {uuid.uuid4().hex}"
    api_token = Token.objects.create(user=owner).key

    # Log in: a wrong password, then the right one (the session id is set then).
    assert (
        client.post("/accounts/login/", {"username": texter.email, "password": "wrong-" + PASSWORD}).status_code == 200
    )
    assert client.post("/accounts/login/", {"username": texter.email, "password": PASSWORD}).status_code == 302
    session_id = client.cookies["sessionid"].value
    # Send: accepted, then the provider fails in a way nobody expected, with the auth token in its error.
    failure = RuntimeError(f"HTTP 401 for AC…: auth {TWILIO_TOKEN} refused")
    with mock.patch.object(FakeProvider, "send", side_effect=failure):
        response = client.post(
            f"/texter/contacts/{contact.pk}/send/",
            json.dumps({"body": body, "send_key": str(uuid.uuid4())}),
            content_type="application/json",
        )
    assert response.status_code == 200, response.content
    sent = Message.objects.get(direction=Direction.OUTBOUND)
    Message.objects.filter(pk=sent.pk).update(provider_sid="SM" + "5" * 32)
    # Webhooks: a delivery report and the contact's reply, signed.
    base = settings.PUBLIC_BASE_URL
    for path, data in [
        (f"/webhooks/twilio/status?m={sent.pk}", {"MessageSid": "SM" + "5" * 32, "MessageStatus": "delivered"}),
        ("/webhooks/twilio/inbound", {"MessageSid": "SM" + "6" * 32, "From": contact.cell, "Body": reply}),
    ]:
        data = {"AccountSid": settings.TWILIO_ACCOUNT_SID, "To": "+15005550006", **data}
        signature = RequestValidator(TWILIO_TOKEN).compute_signature(f"{base}{path}", data)
        assert client.post(path, data, HTTP_X_TWILIO_SIGNATURE=signature).status_code in (200, 204)
    # A forged webhook, an API call with a token, a join link.
    assert client.post("/webhooks/twilio/inbound", {"Body": reply}, HTTP_X_TWILIO_SIGNATURE="forged").status_code == 403
    api = Client()
    assert api.get("/api/v1/campaigns/", HTTP_AUTHORIZATION=f"Token {api_token}").status_code == 200
    client.get(f"/texter/join/{campaign.join_token}/")

    written = captured.getvalue()
    records = lines(captured)
    # The run was logged: every request, and the unexpected failure with its traceback.
    assert sum(1 for r in records if r["logger"] == "spoke.access") >= 8
    failed = [r for r in records if "unexpected error sending message" in r["message"]]
    assert failed and "RuntimeError" in failed[0]["exception"] and "[redacted]" in failed[0]["exception"]
    # The drain ran inside the send request (jobs in process): its line carries the request's id.
    send_line = next(r for r in records if r["logger"] == "spoke.access" and "/send/" in r["message"])
    assert failed[0]["request_id"] == send_line["request_id"]
    assert all(r["request_id"] != "-" for r in records if r["logger"] == "spoke.access")
    # …and nothing secret or private is in it.
    for secret in [PASSWORD, TWILIO_TOKEN, api_token, session_id, body, reply, str(campaign.join_token)]:
        assert secret not in written, f"{secret!r} reached the logs"


def current_request_id() -> str:
    from ops.logs import request_id_var

    return request_id_var.get()


@pytest.mark.django_db
def test_a_jobs_log_lines_carry_its_job_id(settings: SettingsWrapper) -> None:
    from redis import Redis
    from rq import Queue, SimpleWorker

    from texting.tests.conftest import TEST_REDIS_URL, clean_redis
    from texting.worker import SpokeWorker

    class InProcessWorker(SpokeWorker, SimpleWorker):
        """Spoke's worker class, running the job in this process instead of a fork."""

    url = settings.REDIS_URL or TEST_REDIS_URL
    settings.REDIS_URL, settings.JOBS_SYNC = url, False
    settings.RQ_QUEUES = {name: {"URL": url, "DEFAULT_TIMEOUT": 60} for name in ("default", "sends", "imports")}
    connection = Redis.from_url(url)
    clean_redis(connection)
    try:
        queue = Queue("default", connection=connection)
        job = queue.enqueue(current_request_id)
        InProcessWorker([queue], connection=connection).work(burst=True)
        assert job.latest_result().return_value == f"job-{job.id}"
    finally:
        clean_redis(connection)
