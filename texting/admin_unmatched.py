"""Back office: replies that matched no contact, kept and listed for organizers.

A reply matches nobody when no one was texted at that cell from that messaging service (a
forwarded number, a contact deleted with its campaign, a reply long after). It has no
organization, so it is shown to the organizations whose messaging service received it (an
organization's default or a campaign's override), never for the server's shared default
service, which would show one organization's strangers to another. Superusers see them all.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.dateformat import format as date_format
from django.utils.timezone import localtime

from accounts.admin_scoping import CappedCountPaginator, ReadOnlyScopedAdmin, organizer_scope
from accounts.models import Organization
from campaigns.models import Campaign
from texting.models import UnmatchedReply


def messaging_services_of(organization_ids: list[int]) -> set[str]:
    """The messaging services that belong to these organizations (their default and campaign overrides)."""
    return {
        *Organization.objects.filter(id__in=organization_ids)
        .exclude(messaging_service_sid="")
        .values_list("messaging_service_sid", flat=True),
        *Campaign.objects.filter(organization_id__in=organization_ids)
        .exclude(messaging_service_sid="")
        .values_list("messaging_service_sid", flat=True),
    }


@admin.register(UnmatchedReply)
class UnmatchedReplyAdmin(ReadOnlyScopedAdmin):
    list_display = ("received", "from_number", "short_body", "media_count", "to_number", "messaging_service_sid")
    list_display_links = ("received",)
    search_fields = ("=from_number", "body")
    search_help_text = "The sender's number (as +12025550123) or words of the message."
    ordering = ("-id",)
    list_per_page = 50
    show_full_result_count = False
    paginator = CappedCountPaginator
    fields = (
        "created_at",
        "from_number",
        "to_number",
        "messaging_service_sid",
        "body",
        "media_urls",
        "segments",
        "provider_sid",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[UnmatchedReply]:
        queryset = UnmatchedReply.objects.all()
        ids = organizer_scope(request).organization_ids(self.view_role)
        if ids is None:
            return queryset
        return queryset.filter(messaging_service_sid__in=messaging_services_of(ids))

    def _allows(self, request: HttpRequest, role: Any, obj: Any) -> bool:
        # No organization on the row: get_queryset has already cut it to the user's services.
        return organizer_scope(request).allows(role, None)

    @admin.display(description="received", ordering="-id")
    def received(self, obj: UnmatchedReply) -> str:
        return date_format(localtime(obj.created_at), "M j, H:i")

    @admin.display(description="message")
    def short_body(self, obj: UnmatchedReply) -> str:
        return obj.body if len(obj.body) <= 80 else obj.body[:79] + "…"

    @admin.display(description="media")
    def media_count(self, obj: UnmatchedReply) -> int:
        return len(obj.media_urls or [])
