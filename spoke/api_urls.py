"""The REST API's routes: each app contributes its own viewsets; the schema and its docs."""

from __future__ import annotations

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from accounts.api import OrganizationViewSet
from campaigns.api import CampaignViewSet, CannedResponseViewSet, InteractionStepViewSet
from campaigns.api_contacts import AssignmentViewSet, ContactViewSet, ImportJobViewSet
from campaigns.api_lists import OptOutViewSet, TagViewSet
from texting.api import CampaignStatsView, MessageViewSet
from texting.api_exports import CampaignExportView, ExportJobViewSet

router = DefaultRouter()
router.register("organizations", OrganizationViewSet, basename="organization")
router.register("campaigns", CampaignViewSet, basename="campaign")
router.register("interaction-steps", InteractionStepViewSet, basename="interactionstep")
router.register("canned-responses", CannedResponseViewSet, basename="cannedresponse")
router.register("contacts", ContactViewSet, basename="contact")
router.register("import-jobs", ImportJobViewSet, basename="importjob")
router.register("assignments", AssignmentViewSet, basename="assignment")
router.register("messages", MessageViewSet, basename="message")
router.register("optouts", OptOutViewSet, basename="optout")
router.register("tags", TagViewSet, basename="tag")
router.register("exports", ExportJobViewSet, basename="exportjob")

urlpatterns = [
    re_path(r"^campaigns/(?P<pk>[0-9]{1,18})/stats/$", CampaignStatsView.as_view(), name="campaign-stats"),
    re_path(r"^campaigns/(?P<pk>[0-9]{1,18})/export/$", CampaignExportView.as_view(), name="campaign-export"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    *router.urls,
]
