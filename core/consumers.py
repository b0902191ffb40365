"""The websocket side of core.live: a consumer joined to one group that forwards its events."""

from __future__ import annotations

import asyncio
from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from core.live import sessions_group
from ops.metrics import websockets_change, websockets_refresh_due

# The close code a page sees when its user logged out everywhere: it must log in again.
SESSION_ENDED = 4401


class LiveGroupConsumer(AsyncJsonWebsocketConsumer):
    """Subclasses check access in `connect` and then `await self.join(group)`. Pages send
    {"type": "ping"} to keep the connection alive and get {"event": "pong"}; every event
    published with core.live.publish_on_commit reaches them as {"event": ..., **payload}."""

    group: str | None = None
    sessions_group: str | None = None

    async def join(self, group: str) -> None:
        self.group = group
        await self.channel_layer.group_add(group, self.channel_name)
        # Open sockets across every process, for /metrics (off the event loop: it may reach Redis).
        await asyncio.to_thread(websockets_change, 1)
        # Every socket of a user also hears "your sessions were ended" (log out everywhere).
        user = self.scope.get("user")
        if user is not None and user.is_authenticated:
            self.sessions_group = sessions_group(user.id)
            await self.channel_layer.group_add(self.sessions_group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)
            await asyncio.to_thread(websockets_change, -1)
        if self.sessions_group is not None:
            await self.channel_layer.group_discard(self.sessions_group, self.channel_name)

    async def sessions_ended(self, message: dict[str, Any]) -> None:
        await self.close(code=SESSION_ENDED)

    async def membership_revoked(self, message: dict[str, Any]) -> None:
        """The user was suspended or removed somewhere: subclasses re-check their access."""

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"event": "pong"})
            if websockets_refresh_due():  # at most every few minutes per process
                await asyncio.to_thread(websockets_change, 0)

    async def live_event(self, message: dict[str, Any]) -> None:
        await self.send_json({"event": message["event"], **message["payload"]})
