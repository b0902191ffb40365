"""The REST API's routes: each app contributes its own viewsets."""

from __future__ import annotations

from rest_framework.routers import DefaultRouter

from campaigns.api import CampaignViewSet
from texting.api import MessageViewSet

router = DefaultRouter()
router.register("campaigns", CampaignViewSet, basename="campaign")
router.register("messages", MessageViewSet, basename="message")

urlpatterns = router.urls
