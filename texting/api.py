"""REST API for messages (organizers' view, scoped to their organizations)."""

from __future__ import annotations

from django.db.models import QuerySet
from rest_framework import serializers, viewsets

from accounts.selectors import organizations_for_organizer
from texting.models import Message


class MessageSerializer(serializers.ModelSerializer[Message]):
    class Meta:
        model = Message
        fields = [
            "id",
            "campaign",
            "contact",
            "texter",
            "direction",
            "body",
            "status",
            "error_code",
            "to_number",
            "from_number",
            "created_at",
            "sent_at",
            "delivered_at",
        ]
        read_only_fields = fields


class MessageViewSet(viewsets.ReadOnlyModelViewSet[Message]):
    serializer_class = MessageSerializer

    def get_queryset(self) -> QuerySet[Message]:
        queryset = Message.objects.filter(organization__in=organizations_for_organizer(user=self.request.user))  # type: ignore[arg-type]
        campaign = self.request.query_params.get("campaign")
        if campaign and campaign.isdigit():
            queryset = queryset.filter(campaign_id=int(campaign))
        return queryset.order_by("-id")
