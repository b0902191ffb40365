"""REST API for contacts, their import jobs, and assignments to texters."""

from __future__ import annotations

import csv
import io
from typing import Any

from django.core.files.base import ContentFile
from django.db.models import Count, Q, QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api_base import IdField, ScopedMixin, int_param
from accounts.models import Role, User
from accounts.selectors import texters_for_organization
from campaigns.api import CampaignField
from campaigns.importing import contacts_import_start
from campaigns.models import Assignment, Campaign, Contact, ContactStatus, ImportJob
from campaigns.services import assignment_unassign, contacts_assign, contacts_reassign, contacts_split_evenly

# --- Contacts ------------------------------------------------------------------------------------


class ContactSerializer(serializers.ModelSerializer[Contact]):
    texter = serializers.IntegerField(source="assignment.texter_id", read_only=True, allow_null=True, default=None)

    class Meta:
        model = Contact
        fields = [
            "id",
            "campaign",
            "assignment",
            "texter",
            "first_name",
            "last_name",
            "cell",
            "zip",
            "external_id",
            "custom_fields",
            "timezone",
            "status",
            "is_opted_out",
            "error_code",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ContactRowSerializer(serializers.Serializer[Any]):
    firstName = serializers.CharField(max_length=200, allow_blank=True)
    lastName = serializers.CharField(max_length=200, allow_blank=True)
    cell = serializers.CharField(max_length=40)
    zip = serializers.CharField(max_length=12, required=False, allow_blank=True)
    external_id = serializers.CharField(max_length=255, required=False, allow_blank=True)
    custom_fields = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False)


class ContactImportSerializer(serializers.Serializer[Any]):
    campaign = CampaignField(help_text="The campaign whose unassigned contacts the upload replaces.")
    file = serializers.FileField(
        required=False, help_text="A CSV in the original Spoke format (firstName, lastName, cell, ...)."
    )
    contacts = ContactRowSerializer(many=True, required=False, help_text="Or the contacts as a JSON list.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if bool(attrs.get("file")) == bool(attrs.get("contacts")):
            raise serializers.ValidationError("Send either a CSV `file` (multipart) or a `contacts` list (JSON).")
        return attrs


def _csv_from_rows(rows: list[dict[str, Any]]) -> ContentFile[bytes]:
    """The JSON list as the CSV the importer reads, so both go through the same checks."""
    custom = sorted(
        {key for row in rows for key in (row.get("custom_fields") or {})}
        - {"firstName", "lastName", "cell", "zip", "external_id"}
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["firstName", "lastName", "cell", "zip", "external_id", *custom])
    for row in rows:
        extra = row.get("custom_fields") or {}
        writer.writerow(
            [row["firstName"], row["lastName"], row["cell"], row.get("zip", ""), row.get("external_id", "")]
            + [extra.get(key, "") for key in custom]
        )
    return ContentFile(buffer.getvalue().encode(), name="contacts.csv")


class ImportJobSerializer(serializers.ModelSerializer[ImportJob]):
    class Meta:
        model = ImportJob
        fields = [
            "id",
            "campaign",
            "original_name",
            "status",
            "progress",
            "rows_total",
            "imported",
            "invalid_cell",
            "duplicates",
            "opted_out",
            "timezone_unknown",
            "error",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("campaign", int),
            OpenApiParameter("status", str, enum=ContactStatus.values),
            OpenApiParameter("texter", int, description="The texter's user id."),
            OpenApiParameter("cell", str, description="An E.164 number, like +12025550175."),
        ]
    )
)
class ContactViewSet(ScopedMixin, viewsets.ReadOnlyModelViewSet[Contact]):
    serializer_class = ContactSerializer
    organization_lookup = "campaign__organization"
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def get_queryset(self) -> QuerySet[Contact]:
        queryset = self.scoped(Contact.objects.select_related("assignment").order_by("id"))
        if self.action == "list":
            campaign = int_param(self.request, "campaign")
            if campaign is not None:
                queryset = queryset.filter(campaign_id=campaign)
            texter = int_param(self.request, "texter")
            if texter is not None:
                queryset = queryset.filter(assignment__texter_id=texter)
            contact_status = self.request.query_params.get("status")
            if contact_status:
                if contact_status not in ContactStatus.values:
                    raise exceptions.ValidationError({"status": [f"Use one of {', '.join(ContactStatus.values)}."]})
                queryset = queryset.filter(status=contact_status)
            cell = self.request.query_params.get("cell")
            if cell:
                queryset = queryset.filter(cell=cell.strip())
        return queryset

    @extend_schema(
        request={"multipart/form-data": ContactImportSerializer, "application/json": ContactImportSerializer},
        responses={202: ImportJobSerializer},
    )
    @action(detail=False, methods=["post"], url_path="import")
    def import_contacts(self, request: Request) -> Response:
        """Replace the campaign's unassigned contacts with an upload, as a job: poll `/import-jobs/<id>/`."""
        serializer = ContactImportSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        campaign: Campaign = serializer.validated_data["campaign"]
        self.require_role(Role.ADMIN, campaign.organization_id)
        upload = serializer.validated_data.get("file") or _csv_from_rows(serializer.validated_data["contacts"])
        job = contacts_import_start(
            campaign=campaign,
            uploaded_file=upload,
            original_name=upload.name or "contacts.csv",
            acting_user=request.user,  # type: ignore[arg-type]
        )
        job.refresh_from_db()
        return Response(ImportJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


@extend_schema_view(list=extend_schema(parameters=[OpenApiParameter("campaign", int)]))
class ImportJobViewSet(ScopedMixin, viewsets.ReadOnlyModelViewSet[ImportJob]):
    """Contact imports: status (pending, running, done, failed), progress in percent and the report."""

    serializer_class = ImportJobSerializer
    organization_lookup = "campaign__organization"

    def get_queryset(self) -> QuerySet[ImportJob]:
        queryset = self.scoped(ImportJob.objects.order_by("-id"))
        campaign = int_param(self.request, "campaign") if self.action == "list" else None
        return queryset if campaign is None else queryset.filter(campaign_id=campaign)


# --- Assignments ---------------------------------------------------------------------------------


class AssignmentSerializer(serializers.ModelSerializer[Assignment]):
    contacts = serializers.IntegerField(source="contact_count", read_only=True, help_text="Contacts assigned.")
    to_send = serializers.IntegerField(read_only=True, help_text="Of which waiting for a first message.")

    class Meta:
        model = Assignment
        fields = ["id", "campaign", "texter", "max_contacts", "contacts", "to_send", "created_at"]
        read_only_fields = fields


class AssignSerializer(serializers.Serializer[Any]):
    campaign = CampaignField()
    texter = IdField(help_text="The texter's user id (a member of the campaign's organization).")
    count = serializers.IntegerField(
        min_value=0, max_value=10_000_000, help_text="How many more unassigned contacts to give them."
    )


class SplitSerializer(serializers.Serializer[Any]):
    campaign = CampaignField()
    texters = serializers.ListField(child=IdField(), min_length=1, max_length=10_000)


class ReassignSerializer(serializers.Serializer[Any]):
    campaign = CampaignField()
    texter = IdField(help_text="Who gets the contacts.")
    contacts = serializers.ListField(child=IdField(), min_length=1, max_length=100_000)


class AssignResultSerializer(serializers.Serializer[Any]):
    assigned = serializers.DictField(child=serializers.IntegerField(), help_text="Contacts given, by texter id.")


@extend_schema_view(list=extend_schema(parameters=[OpenApiParameter("campaign", int)]))
class AssignmentViewSet(
    ScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Assignment]
):
    """Which texter holds which contacts. Supervolunteers and up assign and reassign, as in the back office."""

    serializer_class = AssignmentSerializer
    queryset = Assignment.objects.none()  # for the schema's path parameter type; get_queryset scopes
    organization_lookup = "campaign__organization"

    def get_queryset(self) -> QuerySet[Assignment]:
        queryset = self.scoped(Assignment.objects.order_by("id")).annotate(
            contact_count=Count("contacts"),
            to_send=Count(
                "contacts",
                filter=Q(contacts__status=ContactStatus.NEEDS_MESSAGE, contacts__is_opted_out=False),
            ),
        )
        campaign = int_param(self.request, "campaign") if self.action == "list" else None
        return queryset if campaign is None else queryset.filter(campaign_id=campaign)

    def _texter(self, campaign: Campaign, texter_id: int) -> User:
        texter = texters_for_organization(organization=campaign.organization).filter(pk=texter_id).first()
        if texter is None:
            raise exceptions.ValidationError(
                {"texter": [f"User {texter_id} is not an active member of this campaign's organization."]}
            )
        return texter

    @extend_schema(request=AssignSerializer, responses=AssignResultSerializer)
    @action(detail=False, methods=["post"])
    def assign(self, request: Request) -> Response:
        """Give a texter up to `count` more of the campaign's unassigned contacts."""
        data = self._valid(AssignSerializer)
        campaign = data["campaign"]
        texter = self._texter(campaign, data["texter"])
        assigned = contacts_assign(campaign=campaign, texter=texter, count=data["count"])
        return Response({"assigned": {str(texter.pk): assigned}})

    @extend_schema(request=SplitSerializer, responses=AssignResultSerializer)
    @action(detail=False, methods=["post"], url_path="split-evenly")
    def split_evenly(self, request: Request) -> Response:
        """Share every unassigned contact among these texters as evenly as possible."""
        data = self._valid(SplitSerializer)
        campaign = data["campaign"]
        texters = [self._texter(campaign, texter_id) for texter_id in dict.fromkeys(data["texters"])]
        shares = contacts_split_evenly(campaign=campaign, texters=texters)
        return Response({"assigned": {str(k): v for k, v in shares.items()}})

    @extend_schema(request=ReassignSerializer, responses=AssignResultSerializer)
    @action(detail=False, methods=["post"])
    def reassign(self, request: Request) -> Response:
        """Move these contacts (conversations included) to another texter."""
        data = self._valid(ReassignSerializer)
        campaign = data["campaign"]
        texter = self._texter(campaign, data["texter"])
        # Ids of other campaigns' contacts are ignored: the caller is scoped to this campaign.
        ids = list(Contact.objects.filter(campaign=campaign, id__in=data["contacts"]).values_list("id", flat=True))
        moved = contacts_reassign(contact_ids=ids, texter_ids=[texter.pk]) if ids else {texter.pk: 0}
        return Response({"assigned": {str(texter.pk): moved[texter.pk]}})

    @extend_schema(request=None, responses=AssignResultSerializer)
    @action(detail=True, methods=["post"])
    def unassign(self, request: Request, pk: str | None = None) -> Response:
        """Return the texter's unsent contacts to the unassigned pool; their conversations stay with them."""
        assignment = self.get_object()
        self.require_role_on(Role.SUPERVOLUNTEER, assignment)
        released = assignment_unassign(assignment=assignment)
        return Response({"assigned": {str(assignment.texter_id): -released}})

    def _valid(self, serializer_class: type[serializers.Serializer[Any]]) -> dict[str, Any]:
        serializer = serializer_class(data=self.request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        self.require_role(Role.SUPERVOLUNTEER, serializer.validated_data["campaign"].organization_id)
        return dict(serializer.validated_data)
