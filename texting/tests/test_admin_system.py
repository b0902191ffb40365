"""The owners' system page: who may see it, what it shows, and its actions."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from pytest_django.fixtures import Settings as SettingsWrapper
from redis import Redis
from rq import Worker

from accounts.models import User
from campaigns.models import Contact
from conftest import login
from ops.maintenance import _forget, maintenance_get
from ops.metrics import metrics_reset
from spoke.testing import MessageFactory, UserFactory
from texting.models import Message, MessageStatus
from texting.services import message_send
from texting.tests.conftest import TEST_REDIS_URL

pytestmark = pytest.mark.django_db

URL = "/admin/ops/maintenancestate/"


@pytest.fixture(autouse=True)
def fresh(settings: SettingsWrapper) -> Iterator[None]:
    metrics_reset()
    _forget()
    yield
    metrics_reset()
    _forget()


@pytest.fixture
def review(contact: Contact) -> Message:
    return MessageFactory.create(
        contact=contact, status=MessageStatus.REVIEW, status_note="The provider may have sent it", error_code=None
    )


@pytest.fixture
def failed(contact: Contact) -> Message:
    return MessageFactory.create(contact=contact, status=MessageStatus.UNDELIVERED, error_code=30007)


def test_only_owners_see_it(
    client: Client, owner: User, admin_user: User, supervolunteer: User, texter: User, outsider: User
) -> None:
    assert login(client, owner).get(URL).status_code == 200
    assert "System status" in client.get("/admin/").content.decode()
    for user in (admin_user, supervolunteer):
        client.logout()
        assert login(client, user).get(URL).status_code == 403
        assert "System status" not in client.get("/admin/").content.decode()
    client.logout()
    page = login(client, texter).get(URL)  # no back office at all
    assert page.status_code == 302 and "/admin/login/" in page["Location"]
    client.logout()
    assert client.get(URL).status_code == 302
    client.logout()
    superuser = UserFactory.create(is_staff=True, is_superuser=True)
    assert login(client, superuser).get(URL).status_code == 200
    client.logout()
    assert login(client, outsider).get(URL).status_code == 200  # an owner too, of another organization


def test_it_shows_errors_with_their_meaning_review_and_throughput_for_the_owners_organizations(
    client: Client,
    owner: User,
    outsider: User,
    texter: User,
    contact: Contact,
    review: Message,
    failed: Message,
    django_capture_on_commit_callbacks: Any,
) -> None:
    other = Contact.objects.create(campaign=contact.campaign, assignment=contact.assignment, cell="+13125550999")
    with django_capture_on_commit_callbacks(execute=True):
        message_send(texter=texter, contact_id=other.pk, body="", send_key=uuid.uuid4())
    page = login(client, owner).get(URL).content.decode()
    assert "<td>30007</td>" in page and "Carrier filtering: message flagged as spam or violation" in page
    assert f'value="{review.pk}"' in page and "The provider may have sent it" in page
    assert "1 accepted by the provider in the hour" in page
    assert "Spoke is running normally" in page
    assert "jobs run inside the web process" in page

    client.logout()
    page = login(client, outsider).get(URL).content.decode()
    assert "<td>30007</td>" not in page and f'value="{review.pk}"' not in page
    assert "No failed or undelivered messages" in page


def test_owners_mark_review_messages_failed_or_send_them_again(
    client: Client, owner: User, outsider: User, review: Message, django_capture_on_commit_callbacks: Any
) -> None:
    # Another organization's owner cannot touch them.
    login(client, outsider).post(f"{URL}review/", {"message": [review.pk], "action": "fail"})
    review.refresh_from_db()
    assert review.status == MessageStatus.REVIEW
    client.logout()

    login(client, owner)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{URL}review/", {"message": [review.pk], "action": "release"})
    assert response.status_code == 302
    review.refresh_from_db()
    # Back in the outbox, then sent by the drain (the fake provider delivers at once).
    assert review.status == MessageStatus.DELIVERED and review.attempts == 1

    second = MessageFactory.create(contact=review.contact, status=MessageStatus.REVIEW)
    client.post(f"{URL}review/", {"message": [second.pk], "action": "fail"})
    second.refresh_from_db()
    assert second.status == MessageStatus.FAILED and owner.email in second.status_note
    assert "Tick the messages" in client.post(f"{URL}review/", {"action": "fail"}, follow=True).content.decode()


def test_superusers_switch_maintenance_on_and_off_and_owners_see_it(
    client: Client, owner: User, admin_user: User
) -> None:
    # The switch stops every organization's sends: an organization's owner or admin may not flip it.
    for user in (admin_user, owner):
        assert login(client, user).post(f"{URL}maintenance/", {"enabled": "on"}).status_code == 403
        client.logout()
    assert not maintenance_get().enabled
    assert "only the server" in login(client, owner).get(URL).content.decode()
    client.logout()
    operator = UserFactory.create(email="operator@example.com", is_staff=True, is_superuser=True)
    login(client, operator).post(f"{URL}maintenance/", {"enabled": "on", "message": "Back at noon."})
    _forget()
    assert maintenance_get().enabled and maintenance_get().message == "Back at noon."
    client.logout()
    page = login(client, owner).get(URL).content.decode()
    assert "Maintenance is ON" in page and "operator@example.com" in page and "End maintenance" not in page
    client.logout()
    login(client, operator)
    client.post(f"{URL}maintenance/", {"enabled": "off"})
    _forget()
    assert not maintenance_get().enabled
    assert client.get(f"{URL}maintenance/").status_code == 405


@pytest.fixture
def shared_redis(settings: SettingsWrapper) -> Iterator[Redis]:
    url = settings.REDIS_URL or TEST_REDIS_URL
    settings.REDIS_URL, settings.JOBS_SYNC = url, False
    settings.RQ_QUEUES = {name: {"URL": url, "DEFAULT_TIMEOUT": 60} for name in ("default", "sends", "imports")}
    connection = Redis.from_url(url)
    for key in connection.scan_iter("rq:worker*"):
        connection.delete(key)
    yield connection
    for key in connection.scan_iter("rq:worker*"):
        connection.delete(key)


def test_it_lists_live_workers_and_the_job_queues(client: Client, owner: User, shared_redis: Redis) -> None:
    assert "No worker is running" in login(client, owner).get(URL).content.decode()
    worker = Worker(["sends", "default"], connection=shared_redis, name="spoke-worker-test-1")
    worker.register_birth()
    try:
        page = client.get(URL).content.decode()
    finally:
        worker.register_death()
    assert "spoke-worker-test-1" in page and "sends, default" in page
    assert 'id="queues"' in page
