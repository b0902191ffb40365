"""The organizer's campaign websocket: joined to `campaign.<id>` for live import progress, export
progress and campaign changes on the back office's campaign pages.

Only supervolunteers and up of the campaign's organization may listen; anyone else (another
organization's organizer included) is refused as if the campaign did not exist.
"""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async

from accounts.models import ORGANIZER_ROLES, Membership, User
from campaigns.models import Campaign
from core.consumers import LiveGroupConsumer
from core.live import campaign_group


def organizer_may_watch(*, user: User, campaign_id: int) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    organization_id = Campaign.objects.filter(pk=campaign_id).values_list("organization_id", flat=True).first()
    if organization_id is None:
        return False
    if user.is_superuser:
        return True
    return Membership.objects.filter(user=user, organization_id=organization_id, role__in=ORGANIZER_ROLES).exists()


class CampaignConsumer(LiveGroupConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        campaign_id = int(self.scope["url_route"]["kwargs"]["campaign_id"])
        if user is None or not await database_sync_to_async(organizer_may_watch)(user=user, campaign_id=campaign_id):
            await self.close(code=4403)
            return
        await self.join(campaign_group(campaign_id))

    async def membership_revoked(self, message: dict[str, Any]) -> None:
        # Suspended or removed: a campaign page of an organization they no longer organize closes.
        campaign_id = int(self.scope["url_route"]["kwargs"]["campaign_id"])
        if not await database_sync_to_async(organizer_may_watch)(user=self.scope["user"], campaign_id=campaign_id):
            await self.close(code=4403)
