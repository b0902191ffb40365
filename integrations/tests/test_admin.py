"""The back office's webhook pages: admins and owners only, scoped, with the log and the test button."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Organization, User
from conftest import login
from integrations.models import DeliveryStatus, Event, WebhookDelivery, WebhookEndpoint
from integrations.services import endpoint_create
from integrations.tests.conftest import Receiver

pytestmark = pytest.mark.django_db


def test_owner_adds_an_endpoint_with_events(owner_client: Client, organization: Organization) -> None:
    response = owner_client.post(
        reverse("admin:integrations_webhookendpoint_add"),
        {
            "organization": organization.pk,
            "url": "https://example.org/spoke",
            "description": "CRM",
            "events": [Event.OPTOUT_CREATED, Event.TAG_APPLIED],
            "is_active": "on",
            "secret": "shh-a-long-secret",
        },
    )
    assert response.status_code == 302, response.content
    endpoint = WebhookEndpoint.objects.get()
    assert sorted(endpoint.events) == ["optout.created", "tag.applied"]


def test_a_non_http_address_is_refused_in_the_form(owner_client: Client, organization: Organization) -> None:
    response = owner_client.post(
        reverse("admin:integrations_webhookendpoint_add"),
        {"organization": organization.pk, "url": "ftp://example.org/x", "events": [Event.TAG_APPLIED], "secret": "s"},
    )
    assert response.status_code == 200 and b"https://" in response.content
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_send_test_event_button_delivers_and_logs(
    client: Client, owner: User, organization: Organization, receiver: Receiver
) -> None:
    endpoint = endpoint_create(organization=organization, url=receiver.url, events=[Event.TAG_APPLIED])
    receiver.secret = endpoint.secret
    login(client, owner)
    page = client.get(reverse("admin:integrations_webhookendpoint_change", args=[endpoint.pk]))
    assert b"Send test event" in page.content and b"Delivery log" in page.content
    response = client.post(reverse("admin:integrations_webhookendpoint_send_test", args=[endpoint.pk]), follow=True)
    assert b"Test event delivered" in response.content
    assert receiver.events == ["webhook.test"]
    log = client.get(reverse("admin:integrations_webhookdelivery_changelist") + f"?endpoint__id__exact={endpoint.pk}")
    assert log.status_code == 200 and b"webhook.test" in log.content
    assert WebhookDelivery.objects.get().status == DeliveryStatus.SUCCEEDED


def test_outsider_gets_404_and_supervolunteer_no_access(
    client: Client, outsider: User, supervolunteer: User, organization: Organization
) -> None:
    endpoint = endpoint_create(organization=organization, url="https://example.org/hook", events=[Event.TAG_APPLIED])
    WebhookDelivery.objects.create(endpoint=endpoint, event="tag.applied", payload={})
    login(client, outsider)
    assert client.get(reverse("admin:integrations_webhookendpoint_change", args=[endpoint.pk])).status_code == 404
    assert client.post(reverse("admin:integrations_webhookendpoint_send_test", args=[endpoint.pk])).status_code == 404
    assert b"tag.applied" not in client.get(reverse("admin:integrations_webhookdelivery_changelist")).content
    login(client, supervolunteer)
    assert client.get(reverse("admin:integrations_webhookendpoint_changelist")).status_code == 403


def test_send_test_needs_post(owner_client: Client, organization: Organization) -> None:
    endpoint = endpoint_create(organization=organization, url="https://example.org/hook", events=[Event.TAG_APPLIED])
    assert (
        owner_client.get(reverse("admin:integrations_webhookendpoint_send_test", args=[endpoint.pk])).status_code == 405
    )
