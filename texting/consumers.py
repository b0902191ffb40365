"""The texter page's one websocket: session-authenticated, joined to `texter.<user id>`.

Events are published to a texter's own group only (a reply to one of their contacts, counts of
their assignments), so a socket never hears about another texter's work. A user who is no
longer an active member of any organization (suspended everywhere, or removed) is refused:
they have no texter page to keep live, and a socket open when that happens is closed
(`membership_revoked`, sent by the suspension).
"""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from accounts.models import Membership, Role
from core.live import texter_group

NOT_LOGGED_IN = 4401
NO_ORGANIZATION = 4403


@database_sync_to_async
def _is_active_member(user_id: int) -> bool:
    return Membership.objects.filter(user_id=user_id).exclude(role=Role.SUSPENDED).exists()


class TexterConsumer(AsyncJsonWebsocketConsumer):
    group: str | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=NOT_LOGGED_IN)
            return
        if not await _is_active_member(user.id):
            await self.close(code=NO_ORGANIZATION)
            return
        self.group = texter_group(user.id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"event": "pong"})

    async def membership_revoked(self, message: dict[str, Any]) -> None:
        # Suspended: close at once, unless the user still texts for another organization.
        if not await _is_active_member(self.scope["user"].id):
            await self.close(code=NO_ORGANIZATION)

    async def live_event(self, message: dict[str, Any]) -> None:
        await self.send_json({"event": message["event"], **message["payload"]})
