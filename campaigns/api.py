"""REST API for campaigns (organizers' view, scoped to their organizations)."""

from __future__ import annotations

from django.db.models import QuerySet
from rest_framework import serializers, viewsets

from accounts.selectors import organizations_for_organizer
from campaigns.models import Campaign


class CampaignSerializer(serializers.ModelSerializer[Campaign]):
    class Meta:
        model = Campaign
        fields = ["id", "organization", "title", "description", "due_by", "is_started", "is_archived", "created_at"]
        read_only_fields = fields


class CampaignViewSet(viewsets.ReadOnlyModelViewSet[Campaign]):
    serializer_class = CampaignSerializer

    def get_queryset(self) -> QuerySet[Campaign]:
        return Campaign.objects.filter(organization__in=organizations_for_organizer(user=self.request.user))  # type: ignore[arg-type]
