"""The REST API's routes: each app contributes its own viewsets; the schema and its docs."""

from __future__ import annotations

from csp.decorators import csp_update
from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from accounts.api import OrganizationViewSet
from campaigns.api import CampaignViewSet, CannedResponseViewSet, InteractionStepViewSet
from campaigns.api_contacts import AssignmentViewSet, ContactViewSet, ImportJobViewSet
from campaigns.api_lists import OptOutViewSet, TagViewSet
from texting.api import CampaignStatsView, MessageViewSet
from texting.api_exports import CampaignExportView, ExportJobViewSet

_DOCS_CSP = csp_update({"style-src": ["'unsafe-inline'"], "worker-src": ["blob:"]})


class Router(DefaultRouter):
    # No `.json` suffix routes: the API speaks JSON (content negotiation by Accept), and the
    # suffixed copies of the custom actions answered 500 (found by the authorization matrix).
    include_format_suffixes = False


router = Router()
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
    # The docs pages run no inline script (the split view serves Swagger's setup as a file), but
    # Swagger UI and Redoc style themselves inline and Redoc parses in a blob: worker.
    path("docs/", _DOCS_CSP(SpectacularSwaggerSplitView.as_view(url_name="api-schema")), name="api-docs"),
    path("redoc/", _DOCS_CSP(SpectacularRedocView.as_view(url_name="api-schema")), name="api-redoc"),
    *router.urls,
]
