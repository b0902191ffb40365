"""REST API: the organizations the user organizes."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers, viewsets

from accounts.admin_scoping import organizer_scope
from accounts.api_base import ScopedMixin
from accounts.models import Organization


class OrganizationSerializer(serializers.ModelSerializer[Organization]):
    role = serializers.SerializerMethodField(help_text="Your role in this organization.")

    class Meta:
        model = Organization
        fields = [
            "id",
            "name",
            "role",
            "texting_hours_enforced",
            "texting_hours_start",
            "texting_hours_end",
            "default_timezone",
            "opt_out_message",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField())
    def get_role(self, obj: Organization) -> str:
        role = organizer_scope(self.context["request"]).role_in(obj.pk)
        return str(role or "")


class OrganizationViewSet(ScopedMixin, viewsets.ReadOnlyModelViewSet[Organization]):
    serializer_class = OrganizationSerializer
    organization_lookup = ""

    def get_queryset(self) -> QuerySet[Organization]:
        return self.scoped(Organization.objects.order_by("id"))
