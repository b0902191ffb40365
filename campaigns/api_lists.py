"""REST API for the organization-wide lists: opt-outs and tags."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api_base import IdField, ScopedMixin, int_param
from accounts.models import Role
from campaigns.models import OptOut, OptOutSource, Tag
from campaigns.phones import normalize_cell
from campaigns.services import optout_create, optout_remove


class OptOutSerializer(serializers.ModelSerializer[OptOut]):
    class Meta:
        model = OptOut
        fields = ["id", "organization", "cell", "source", "reason", "created_at"]
        read_only_fields = fields


class OptOutCreateSerializer(serializers.Serializer[Any]):
    organization = IdField()
    cell = serializers.CharField(max_length=40, help_text="A phone number; stored as E.164.")
    reason = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")

    def validate_cell(self, value: str) -> str:
        cell = normalize_cell(value)
        if cell is None:
            raise serializers.ValidationError("That is not a valid phone number.")
        return cell


class OptOutRemoveSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(
        max_length=1000, help_text="Why the person is opted back in (kept in the audit trail)."
    )


org_filter = [OpenApiParameter("organization", int)]


@extend_schema_view(list=extend_schema(parameters=[*org_filter, OpenApiParameter("cell", str)]))
class OptOutViewSet(ScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[OptOut]):
    """Numbers that must never be texted by the organization. Admins and owners add and remove them."""

    serializer_class = OptOutSerializer

    def get_queryset(self) -> QuerySet[OptOut]:
        queryset = self.scoped(OptOut.objects.order_by("-id"))
        if self.action == "list":
            organization = int_param(self.request, "organization")
            if organization is not None:
                queryset = queryset.filter(organization_id=organization)
            cell = self.request.query_params.get("cell")
            if cell:
                queryset = queryset.filter(cell=normalize_cell(cell) or cell.strip())
        return queryset

    @extend_schema(request=OptOutCreateSerializer, responses={201: OptOutSerializer})
    def create(self, request: Request) -> Response:
        serializer = OptOutCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        organization = self.organization_for(serializer.validated_data["organization"], Role.ADMIN)
        optout = optout_create(
            organization=organization,
            cell=serializer.validated_data["cell"],
            source=OptOutSource.ORGANIZER,
            reason=serializer.validated_data["reason"],
            acting_user=request.user,  # type: ignore[arg-type]
        )
        return Response(OptOutSerializer(optout).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=OptOutRemoveSerializer, responses={204: None})
    @action(detail=True, methods=["post"])
    def remove(self, request: Request, pk: str | None = None) -> Response:
        """Opt the number back in (a reason is required and kept in the audit trail)."""
        optout = self.get_object()
        self.require_role_on(Role.ADMIN, optout)
        serializer = OptOutRemoveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        optout_remove(
            organization=optout.organization,
            cell=optout.cell,
            reason=serializer.validated_data["reason"],
            acting_user=request.user,  # type: ignore[arg-type]
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class TagSerializer(serializers.ModelSerializer[Tag]):
    organization = IdField(source="organization_id")

    class Meta:
        model = Tag
        fields = ["id", "organization", "name", "group", "description"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if (
            self.instance is not None
            and attrs.get("organization_id", self.instance.organization_id) != self.instance.organization_id
        ):
            raise serializers.ValidationError({"organization": ["A tag can't move to another organization."]})
        organization_id = attrs.get("organization_id", getattr(self.instance, "organization_id", None))
        name = attrs.get("name", getattr(self.instance, "name", ""))
        duplicate = Tag.objects.filter(organization_id=int(organization_id or 0), name=name)
        if self.instance is not None:
            duplicate = duplicate.exclude(pk=self.instance.pk)
        if duplicate.exists():
            raise serializers.ValidationError({"name": ["The organization already has a tag with this name."]})
        return attrs


@extend_schema_view(list=extend_schema(parameters=org_filter))
class TagViewSet(
    ScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet[Tag],
):
    """The organization's tags (texters apply them to contacts). Admins and owners manage them."""

    serializer_class = TagSerializer

    def get_queryset(self) -> QuerySet[Tag]:
        queryset = self.scoped(Tag.objects.order_by("id"))
        organization = int_param(self.request, "organization") if self.action == "list" else None
        return queryset if organization is None else queryset.filter(organization_id=organization)

    def perform_create(self, serializer: serializers.BaseSerializer[Tag]) -> None:
        organization = self.organization_for(serializer.validated_data["organization_id"], Role.ADMIN)
        serializer.save(organization_id=organization.pk)

    def perform_update(self, serializer: serializers.BaseSerializer[Tag]) -> None:
        self.require_role_on(Role.ADMIN, serializer.instance)
        serializer.save()
