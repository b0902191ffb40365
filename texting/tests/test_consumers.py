from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.test import Client

from accounts.models import User
from spoke.asgi import application
from texting.consumers import TexterConsumer

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


async def _connect_as(user: User | AnonymousUser) -> tuple[WebsocketCommunicator, bool]:
    communicator = WebsocketCommunicator(TexterConsumer.as_asgi(), "/ws/texter/")
    communicator.scope["user"] = user
    connected, _ = await communicator.connect()
    return communicator, connected


async def test_anonymous_socket_is_refused() -> None:
    communicator, connected = await _connect_as(AnonymousUser())
    assert not connected
    await communicator.disconnect()


async def test_texter_receives_events_published_to_their_group_only(texter: User, other_texter: User) -> None:
    mine, connected = await _connect_as(texter)
    theirs, other_connected = await _connect_as(other_texter)
    assert connected and other_connected
    layer = get_channel_layer()
    await layer.group_send(
        f"texter.{texter.pk}",
        {"type": "live.event", "event": "reply_received", "payload": {"contact_id": 7, "campaign_id": 3}},
    )
    assert await mine.receive_json_from(timeout=2) == {"event": "reply_received", "contact_id": 7, "campaign_id": 3}
    assert await theirs.receive_nothing(timeout=0.2)
    await mine.disconnect()
    await theirs.disconnect()


async def test_ping_is_answered(texter: User) -> None:
    communicator, _ = await _connect_as(texter)
    await communicator.send_json_to({"type": "ping"})
    assert await communicator.receive_json_from(timeout=2) == {"event": "pong"}
    await communicator.disconnect()


async def test_socket_through_the_asgi_app_is_authenticated_by_the_session_cookie(texter: User) -> None:
    client = Client()
    await sync_to_async(client.force_login)(texter)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    communicator = WebsocketCommunicator(
        application, "/ws/texter/", headers=[(b"cookie", cookie.encode()), (b"origin", b"http://localhost")]
    )
    connected, _ = await communicator.connect()
    assert connected
    await get_channel_layer().group_send(
        f"texter.{texter.pk}", {"type": "live.event", "event": "assignments_changed", "payload": {"campaign_id": 1}}
    )
    assert await communicator.receive_json_from(timeout=2) == {"event": "assignments_changed", "campaign_id": 1}
    await communicator.disconnect()


async def test_socket_without_a_session_through_the_asgi_app_is_refused(db: None) -> None:
    communicator = WebsocketCommunicator(application, "/ws/texter/", headers=[(b"origin", b"http://localhost")])
    connected, _ = await communicator.connect()
    assert not connected


async def test_socket_from_a_foreign_origin_is_refused(texter: User) -> None:
    communicator = WebsocketCommunicator(application, "/ws/texter/", headers=[(b"origin", b"https://evil.example")])
    connected, _ = await communicator.connect()
    assert not connected
