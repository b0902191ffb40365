"""REST API for campaigns, their script (interaction steps) and canned responses.

Supervolunteers and up read; admins and owners create, edit, start, archive and copy, as in the
back office.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.admin_scoping import organizer_scope, scoped
from accounts.api_base import MAX_ID, IdField, ScopedMixin, bool_param, int_param
from accounts.models import Role
from campaigns.models import CAMPAIGN_SETTINGS_FIELDS, Campaign, CannedResponse, InteractionStep
from campaigns.services import campaign_archive, campaign_copy, campaign_start


class CampaignSerializer(serializers.ModelSerializer[Campaign]):
    texter_visible_fields = serializers.ListField(
        child=serializers.CharField(max_length=200),
        allow_null=True,
        required=False,
        help_text="Custom fields texters see in the contact panel; null: every custom field.",
    )

    class Meta:
        model = Campaign
        fields = [
            "id",
            "organization",
            "title",
            *CAMPAIGN_SETTINGS_FIELDS,
            "is_started",
            "started_at",
            "is_archived",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["organization", "is_started", "started_at", "is_archived", "created_at", "updated_at"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        instance = Campaign(**{**self._current(), **attrs})
        instance.full_clean(exclude=["organization", "join_token"], validate_unique=False)
        return attrs

    def _current(self) -> dict[str, Any]:
        if self.instance is None:
            return {}
        return {name: getattr(self.instance, name) for name in self.Meta.fields if name not in ("id", "organization")}


class CampaignCreateSerializer(CampaignSerializer):
    organization = IdField(help_text="The organization's id (you must be admin or owner there).")

    class Meta(CampaignSerializer.Meta):
        read_only_fields = ["is_started", "started_at", "is_archived", "created_at", "updated_at"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        organization_id = attrs.pop("organization")
        super().validate(attrs)
        attrs["organization"] = organization_id
        return attrs


class CopySerializer(serializers.Serializer[Any]):
    title = serializers.CharField(max_length=200, required=False, help_text='Default: "Copy of <title>".')


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("organization", int, description="Only this organization's campaigns."),
            OpenApiParameter("is_started", bool),
            OpenApiParameter("is_archived", bool),
        ]
    )
)
class CampaignViewSet(
    ScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet[Campaign],
):
    serializer_class = CampaignSerializer

    def get_serializer_class(self) -> type[serializers.BaseSerializer[Any]]:
        if self.action == "create":
            return CampaignCreateSerializer
        if self.action == "copy":
            return CopySerializer
        return CampaignSerializer

    def get_queryset(self) -> QuerySet[Campaign]:
        queryset = self.scoped(Campaign.objects.order_by("-id"))
        if self.action == "list":
            organization = int_param(self.request, "organization")
            if organization is not None:
                queryset = queryset.filter(organization_id=organization)
            for name in ("is_started", "is_archived"):
                value = bool_param(self.request, name)
                if value is not None:
                    queryset = queryset.filter(**{name: value})
        return queryset

    def perform_create(self, serializer: serializers.BaseSerializer[Campaign]) -> None:
        organization = self.organization_for(serializer.validated_data.pop("organization"), Role.ADMIN)
        serializer.save(organization=organization)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        self.perform_create(serializer)
        return Response(CampaignSerializer(serializer.instance).data, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer: serializers.BaseSerializer[Campaign]) -> None:
        self.require_role_on(Role.ADMIN, serializer.instance)
        serializer.save()

    def _act(self, role: Role) -> Campaign:
        campaign = self.get_object()
        self.require_role_on(role, campaign)
        return campaign

    @extend_schema(request=None, responses=CampaignSerializer)
    @action(detail=True, methods=["post"])
    def start(self, request: Request, pk: str | None = None) -> Response:
        """Start the campaign: refused (400, with what to fix) without contacts, script or texters."""
        campaign = campaign_start(campaign=self._act(Role.ADMIN), acting_user=request.user)  # type: ignore[arg-type]
        return Response(CampaignSerializer(campaign).data)

    @extend_schema(request=None, responses=CampaignSerializer)
    @action(detail=True, methods=["post"])
    def archive(self, request: Request, pk: str | None = None) -> Response:
        """Archive the campaign: texters no longer see it and its queued messages are not sent."""
        return Response(CampaignSerializer(campaign_archive(campaign=self._act(Role.ADMIN), archived=True)).data)

    @extend_schema(request=None, responses=CampaignSerializer)
    @action(detail=True, methods=["post"])
    def unarchive(self, request: Request, pk: str | None = None) -> Response:
        return Response(CampaignSerializer(campaign_archive(campaign=self._act(Role.ADMIN), archived=False)).data)

    @extend_schema(request=CopySerializer, responses={201: CampaignSerializer})
    @action(detail=True, methods=["post"])
    def copy(self, request: Request, pk: str | None = None) -> Response:
        """A new, unstarted campaign with this one's settings, script and canned responses (no contacts or texters)."""
        campaign = self._act(Role.ADMIN)
        serializer = CopySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        copy = campaign_copy(campaign=campaign, title=serializer.validated_data.get("title"), acting_user=request.user)  # type: ignore[arg-type]
        return Response(CampaignSerializer(copy).data, status=status.HTTP_201_CREATED)


# --- Script and canned responses ------------------------------------------------------------------


class CampaignChildViewSet(
    ScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet[Any],
):
    """Rows that belong to a campaign: listed by `?campaign=`, edited by admins and owners."""

    organization_lookup = "campaign__organization"
    model: Any = None

    def get_queryset(self) -> QuerySet[Any]:
        queryset = self.scoped(self.model.objects.all()).order_by("campaign_id", "position", "id")
        campaign = int_param(self.request, "campaign")
        if campaign is not None:
            queryset = queryset.filter(campaign_id=campaign)
        return queryset

    def perform_create(self, serializer: serializers.BaseSerializer[Any]) -> None:
        self.require_role(Role.ADMIN, serializer.validated_data["campaign"].organization_id)
        serializer.save()

    def perform_update(self, serializer: serializers.BaseSerializer[Any]) -> None:
        self.require_role_on(Role.ADMIN, serializer.instance)
        serializer.save()

    def perform_destroy(self, instance: Any) -> None:
        self.require_role_on(Role.ADMIN, instance)
        instance.delete()


@extend_schema_field(OpenApiTypes.INT)
class ScopedRelatedField(serializers.PrimaryKeyRelatedField[Any]):
    """A related id among the user's organizations: another organization's id reads as unknown."""

    def __init__(self, *, model: Any, lookup: str, **kwargs: Any) -> None:
        self.model, self.lookup = model, lookup
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, bool) or not isinstance(data, int | str) or not str(data).isdigit() or int(data) > MAX_ID:
            self.fail("incorrect_type", data_type=type(data).__name__)
        return super().to_internal_value(data)

    def get_queryset(self) -> QuerySet[Any]:
        ids = organizer_scope(self.context["request"]).organization_ids(Role.SUPERVOLUNTEER)
        return scoped(self.model.objects.all(), lookup=self.lookup, organization_ids=ids)


def CampaignField(**kwargs: Any) -> ScopedRelatedField:
    return ScopedRelatedField(model=Campaign, lookup="organization", **kwargs)


class InteractionStepSerializer(serializers.ModelSerializer[InteractionStep]):
    campaign = CampaignField()
    parent = ScopedRelatedField(  # type: ignore[assignment]
        model=InteractionStep, lookup="campaign__organization", allow_null=True, required=False
    )

    class Meta:
        model = InteractionStep
        fields = ["id", "campaign", "parent", "answer_option", "script", "question", "position"]
        validators: list[Any] = []  # the one-root rule is checked in validate(), with a clearer message

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        campaign = attrs.get("campaign") or getattr(self.instance, "campaign", None)
        parent = attrs.get("parent", getattr(self.instance, "parent", None))
        if self.instance is not None and "campaign" in attrs and attrs["campaign"] != self.instance.campaign:
            raise serializers.ValidationError({"campaign": ["A step can't move to another campaign."]})
        if parent is not None and campaign is not None and parent.campaign_id != campaign.pk:
            raise serializers.ValidationError({"parent": ["The parent step belongs to another campaign."]})
        if parent is None and campaign is not None:
            roots = InteractionStep.objects.filter(campaign=campaign, parent__isnull=True)
            if self.instance is not None:
                roots = roots.exclude(pk=self.instance.pk)
            if roots.exists():
                message = "The campaign already has a first message: give this step a parent (the question it answers)."
                raise serializers.ValidationError({"parent": [message]})
        if parent is not None and self.instance is not None and parent.pk == self.instance.pk:
            raise serializers.ValidationError({"parent": ["A step can't be its own parent."]})
        label = str(attrs.get("answer_option") or getattr(self.instance, "answer_option", "") or "")
        if parent is not None and not label.strip():
            raise serializers.ValidationError({"answer_option": ["An answer needs a label, like “Yes”."]})
        return attrs


campaign_filter = extend_schema(
    parameters=[OpenApiParameter("campaign", int, description="Only this campaign's rows.")]
)


@extend_schema_view(list=campaign_filter)
class InteractionStepViewSet(CampaignChildViewSet):
    """The script tree: the root (no parent) is the first message; each child is an answer to its parent's question."""

    model = InteractionStep
    serializer_class = InteractionStepSerializer


class CannedResponseSerializer(serializers.ModelSerializer[CannedResponse]):
    campaign = CampaignField()

    class Meta:
        model = CannedResponse
        fields = ["id", "campaign", "title", "text", "position"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if self.instance is not None and "campaign" in attrs and attrs["campaign"] != self.instance.campaign:
            raise serializers.ValidationError({"campaign": ["A canned response can't move to another campaign."]})
        return attrs


@extend_schema_view(list=campaign_filter)
class CannedResponseViewSet(CampaignChildViewSet):
    model = CannedResponse
    serializer_class = CannedResponseSerializer

    def get_queryset(self) -> QuerySet[Any]:
        # Texters' own canned responses are theirs, not the campaign's.
        return super().get_queryset().filter(user__isnull=True)
