"""The organizer's campaign websocket: only organizers of the campaign's organization listen."""

from __future__ import annotations

import pytest
from channels.layers import get_channel_layer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser

from accounts.models import User
from campaigns.models import Campaign
from campaigns.routing import websocket_urlpatterns as campaign_websockets
from spoke.asgi import campaign_websockets as routed_in_asgi
from texting.routing import websocket_urlpatterns as texter_websockets

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


async def _connect(user: User | AnonymousUser, campaign_id: int) -> tuple[WebsocketCommunicator, bool]:
    # The project's routes without the session middleware, which would replace the test's user.
    router = URLRouter([*texter_websockets, *campaign_websockets])
    communicator = WebsocketCommunicator(router, f"/ws/campaign/{campaign_id}/")
    communicator.scope["user"] = user
    connected, _ = await communicator.connect()
    return communicator, connected


async def _connect_consumer(user: User | AnonymousUser, campaign_id: int) -> tuple[WebsocketCommunicator, bool]:
    from campaigns.consumers import CampaignConsumer

    communicator = WebsocketCommunicator(CampaignConsumer.as_asgi(), f"/ws/campaign/{campaign_id}/")
    communicator.scope["user"] = user
    communicator.scope["url_route"] = {"kwargs": {"campaign_id": campaign_id}}
    connected, _ = await communicator.connect()
    return communicator, connected


async def test_supervolunteer_receives_the_campaigns_events(supervolunteer: User, campaign: Campaign) -> None:
    communicator, connected = await _connect_consumer(supervolunteer, campaign.pk)
    assert connected
    await get_channel_layer().group_send(
        f"campaign.{campaign.pk}",
        {"type": "live.event", "event": "import_progress", "payload": {"import_id": 3, "progress": 40}},
    )
    assert await communicator.receive_json_from(timeout=2) == {
        "event": "import_progress",
        "import_id": 3,
        "progress": 40,
    }
    await communicator.disconnect()


@pytest.mark.parametrize("who", ["texter", "outsider", "anonymous"])
async def test_texters_outsiders_and_anonymous_are_refused(
    who: str, texter: User, outsider: User, campaign: Campaign
) -> None:
    user = {"texter": texter, "outsider": outsider, "anonymous": AnonymousUser()}[who]
    communicator, connected = await _connect_consumer(user, campaign.pk)
    assert not connected
    await communicator.disconnect()


async def test_unknown_campaign_is_refused(owner: User) -> None:
    communicator, connected = await _connect_consumer(owner, 999_999)
    assert not connected
    await communicator.disconnect()


async def test_the_asgi_application_routes_the_campaign_socket(owner: User, campaign: Campaign) -> None:
    assert routed_in_asgi is campaign_websockets
    communicator, connected = await _connect(owner, campaign.pk)
    assert connected
    await communicator.send_json_to({"type": "ping"})
    assert await communicator.receive_json_from(timeout=2) == {"event": "pong"}
    await communicator.disconnect()


async def test_the_dashboard_socket_hears_stats_changed_when_a_reply_arrives(owner: User, campaign: Campaign) -> None:
    from asgiref.sync import sync_to_async

    from spoke.testing import ContactFactory, MessageFactory
    from texting.providers.base import InboundSMS
    from texting.services import message_receive

    contact = await sync_to_async(ContactFactory.create)(campaign=campaign)
    await sync_to_async(MessageFactory.create)(contact=contact, provider_sid="SMdash1")
    communicator, connected = await _connect_consumer(owner, campaign.pk)
    assert connected
    inbound = InboundSMS(sid="SMdash2", from_number=contact.cell, to_number="+15005550006", body="Count me in")
    await sync_to_async(message_receive)(inbound=inbound)
    assert await communicator.receive_json_from(timeout=2) == {
        "event": "stats_changed",
        "campaign_id": campaign.pk,
        "window": 2,
    }
    await communicator.disconnect()
