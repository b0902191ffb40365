"""REST API for campaign exports: start one, watch its progress, download its two CSVs.

Exports hold every contact's number, name and answers, so only a campaign's admins and owners
start, list and download them (a supervolunteer gets 403 saying so); another organization's
campaign or export answers 404 like one that never existed. Downloads stream the stored file
from the configured storage (django-storages in production) in pieces, never whole in memory.
"""

from __future__ import annotations

import json
from typing import Any

from django.db.models import QuerySet
from django.http import FileResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import exceptions, permissions, renderers, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.admin_scoping import organizer_scope
from accounts.api_base import ROLE_NEEDED, IsOrganizer, ScopedMixin, int_param
from accounts.models import Role
from campaigns.models import Campaign, JobStatus
from core.errors import ApplicationError
from texting.exports import export_start
from texting.models import ExportJob

EXPORT_FILES = ("contacts", "messages")


class CSVFileRenderer(renderers.BaseRenderer):
    """Lets a client ask for `text/csv` on a download; errors then come back as plain text."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        if isinstance(data, bytes):
            return data
        if isinstance(data, dict) and "detail" in data:
            return str(data["detail"]).encode()
        return json.dumps(data).encode()


class IsExportAdmin(IsOrganizer):
    message = ROLE_NEEDED.format(role="admin") + " Exports hold every contact's number and answers."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return super().has_permission(request, view) and organizer_scope(request).allows(Role.ADMIN)


class ExportJobSerializer(serializers.ModelSerializer[ExportJob]):
    contacts_url = serializers.SerializerMethodField(help_text="Download the contacts CSV (once status is done).")
    messages_url = serializers.SerializerMethodField(help_text="Download the messages CSV (once status is done).")

    class Meta:
        model = ExportJob
        fields = [
            "id",
            "campaign",
            "status",
            "progress",
            "error",
            "created_by",
            "created_at",
            "finished_at",
            "contacts_url",
            "messages_url",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "status": {"help_text": "pending, running, done or failed."},
            "progress": {"help_text": "Percent of the rows written."},
            "error": {"help_text": "Why a failed export failed."},
        }

    def _url(self, job: ExportJob, kind: str) -> str | None:
        if job.status != JobStatus.DONE or not getattr(job, f"{kind}_file"):
            return None
        path = reverse(f"exportjob-{kind}", args=[job.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_contacts_url(self, job: ExportJob) -> str | None:
        return self._url(job, "contacts")

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_messages_url(self, job: ExportJob) -> str | None:
        return self._url(job, "messages")


class CampaignExportView(ScopedMixin, APIView):
    """Start an export of a campaign."""

    permission_classes = [IsExportAdmin]

    @extend_schema(request=None, responses={202: ExportJobSerializer}, operation_id="campaigns_export_create")
    def post(self, request: Request, pk: str) -> Response:
        """Export the campaign as two CSVs (contacts, messages), as a job: poll `/exports/<id>/` for its progress.

        Refused (409) while an export of the same campaign is still running."""
        campaign = get_object_or_404(self.scoped(Campaign.objects.all()), pk=pk)
        self.require_role(Role.ADMIN, campaign.organization_id)
        try:
            job = export_start(campaign=campaign, acting_user=request.user)  # type: ignore[arg-type]
        except ApplicationError as error:
            raise ApplicationError(error.message, code="export_running", status=status.HTTP_409_CONFLICT) from error
        job.refresh_from_db()  # without workers (JOBS_SYNC) it has already run
        return Response(ExportJobSerializer(job, context={"request": request}).data, status=status.HTTP_202_ACCEPTED)


csv_download = extend_schema(responses={(200, "text/csv"): OpenApiTypes.BINARY})


@extend_schema_view(
    list=extend_schema(parameters=[OpenApiParameter("campaign", int, description="Only this campaign's exports.")]),
    contacts=csv_download,
    messages=csv_download,
)
class ExportJobViewSet(ScopedMixin, viewsets.ReadOnlyModelViewSet[ExportJob]):
    """Campaign exports, newest first: status (pending, running, done, failed), progress in percent
    and, once done, the download links of the two CSVs."""

    serializer_class = ExportJobSerializer
    organization_lookup = "campaign__organization"
    permission_classes: list[type[permissions.BasePermission]] = [IsExportAdmin]  # type: ignore[assignment]
    queryset = ExportJob.objects.none()  # for the schema's path parameter type; get_queryset scopes

    def get_queryset(self) -> QuerySet[ExportJob]:
        # Lists show the organizations where the user is admin; one export of an organization
        # where they are a supervolunteer answers 403 (get_object), another's 404.
        role = Role.ADMIN if self.action == "list" else Role.SUPERVOLUNTEER
        queryset = self.scoped(ExportJob.objects.order_by("-id"), role=role)
        campaign = int_param(self.request, "campaign") if self.action == "list" else None
        return queryset if campaign is None else queryset.filter(campaign_id=campaign)

    def get_object(self) -> ExportJob:
        job = super().get_object()
        self.require_role_on(Role.ADMIN, job)
        return job

    def _download(self, kind: str) -> FileResponse:
        job = self.get_object()
        file = getattr(job, f"{kind}_file")
        if job.status != JobStatus.DONE or not file:
            raise exceptions.NotFound(f"This export has no {kind} file yet: it is {job.status}.")
        return FileResponse(
            file.open("rb"),
            as_attachment=True,
            filename=f"campaign-{job.campaign_id}-{kind}-export-{job.pk}.csv",
            content_type="text/csv; charset=utf-8",
        )

    @action(detail=True, methods=["get"], renderer_classes=[renderers.JSONRenderer, CSVFileRenderer])
    def contacts(self, request: Request, pk: str | None = None) -> FileResponse:
        """The contacts CSV: one row per contact with its texter, custom fields, tags and survey answers.

        Streamed as an attachment (UTF-8 with a BOM, so Excel opens it right); 404 until the export is done."""
        return self._download("contacts")

    @action(detail=True, methods=["get"], renderer_classes=[renderers.JSONRenderer, CSVFileRenderer])
    def messages(self, request: Request, pk: str | None = None) -> FileResponse:
        """The messages CSV: one row per message, with its status and error description.

        Streamed as an attachment (UTF-8 with a BOM, so Excel opens it right); 404 until the export is done."""
        return self._download("messages")
