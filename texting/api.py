"""REST API for messages and campaign stats (organizers' view, scoped to their organizations)."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, QuerySet
from django.shortcuts import get_object_or_404
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view, inline_serializer
from rest_framework import exceptions, serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api_base import ScopedMixin, int_param
from campaigns.models import Campaign
from campaigns.selectors import contact_counts_for_campaign, survey_results_for_campaign
from texting.models import Direction, Message, MessageStatus


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


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("organization", int),
            OpenApiParameter("campaign", int),
            OpenApiParameter("contact", int),
            OpenApiParameter("texter", int),
            OpenApiParameter("direction", str, enum=Direction.values),
            OpenApiParameter("status", str, enum=MessageStatus.values),
            OpenApiParameter("since", str, description="Only messages created at or after this ISO 8601 time."),
        ]
    )
)
class MessageViewSet(ScopedMixin, viewsets.ReadOnlyModelViewSet[Message]):
    serializer_class = MessageSerializer

    def get_queryset(self) -> QuerySet[Message]:
        queryset = self.scoped(Message.objects.all())
        if self.action == "list":
            for name in ("organization", "campaign", "contact", "texter"):
                value = int_param(self.request, name)
                if value is not None:
                    queryset = queryset.filter(**{f"{name}_id": value})
            for name, choices in (("direction", Direction.values), ("status", MessageStatus.values)):
                value_str = self.request.query_params.get(name)
                if value_str:
                    if value_str not in choices:
                        raise exceptions.ValidationError({name: [f"Use one of {', '.join(choices)}."]})
                    queryset = queryset.filter(**{name: value_str})
            since = self.request.query_params.get("since")
            if since:
                try:
                    moment = parse_datetime(since)
                except ValueError:
                    moment = None
                if moment is None:
                    raise exceptions.ValidationError({"since": ["Use an ISO 8601 time, like 2026-11-03T09:00:00Z."]})
                queryset = queryset.filter(created_at__gte=moment)
        return queryset.order_by("-id")


StatsSerializer = inline_serializer(
    "CampaignStats",
    fields={
        "campaign": serializers.IntegerField(),
        "contacts": serializers.DictField(child=serializers.IntegerField()),
        "contacts_by_status": serializers.DictField(child=serializers.IntegerField()),
        "messages_sent_by_status": serializers.DictField(child=serializers.IntegerField()),
        "messages_received": serializers.IntegerField(),
        "survey": serializers.ListField(child=serializers.DictField()),
    },
)


class CampaignStatsView(ScopedMixin, APIView):
    """Per-campaign counts: contacts by status, messages by status, survey answers."""

    @extend_schema(responses=StatsSerializer)
    def get(self, request: Request, pk: str) -> Response:
        campaign = get_object_or_404(self.scoped(Campaign.objects.select_related("organization")), pk=pk)
        counts = contact_counts_for_campaign(campaign=campaign)
        sent: dict[str, int] = dict.fromkeys([s for s in MessageStatus.values if s != MessageStatus.RECEIVED], 0)
        received = 0
        rows = (
            Message.objects.filter(campaign=campaign).order_by().values("direction", "status").annotate(n=Count("id"))
        )
        for row in rows:
            if row["direction"] == Direction.INBOUND:
                received += row["n"]
            else:
                sent[row["status"]] = sent.get(row["status"], 0) + row["n"]
        survey: list[dict[str, Any]] = [
            {
                "question": result.question,
                "asked_after": result.asked_after,
                "total": result.total,
                "answers": {answer.label: answer.count for answer in result.answers},
            }
            for result in survey_results_for_campaign(campaign=campaign)
        ]
        return Response(
            {
                "campaign": campaign.pk,
                "contacts": {"total": counts.total, "opted_out": counts.opted_out, "unassigned": counts.unassigned},
                "contacts_by_status": counts.by_status,
                "messages_sent_by_status": sent,
                "messages_received": received,
                "survey": survey,
            }
        )
