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

from accounts.models import Membership, Role
from core.consumers import LiveGroupConsumer
from core.live import texter_group

NOT_LOGGED_IN = 4401
NO_ORGANIZATION = 4403


@database_sync_to_async
def _is_active_member(user_id: int) -> bool:
    return Membership.objects.filter(user_id=user_id).exclude(role=Role.SUSPENDED).exists()


class TexterConsumer(LiveGroupConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=NOT_LOGGED_IN)
            return
        if not await _is_active_member(user.id):
            await self.close(code=NO_ORGANIZATION)
            return
        await self.join(texter_group(user.id))

    async def membership_revoked(self, message: dict[str, Any]) -> None:
        # Suspended: close at once, unless the user still texts for another organization.
        if not await _is_active_member(self.scope["user"].id):
            await self.close(code=NO_ORGANIZATION)
