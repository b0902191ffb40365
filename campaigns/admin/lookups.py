"""List-filter choices and search-term parsing shared by the back-office pages (texting's too)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.admin_scoping import organizer_scope
from accounts.models import Organization, Role
from campaigns.models import Campaign
from campaigns.phones import normalize_cell


def organizations_viewable(request: HttpRequest) -> QuerySet[Organization]:
    return organizer_scope(request).organizations(Role.SUPERVOLUNTEER)


def campaigns_viewable(request: HttpRequest) -> QuerySet[Campaign]:
    """Campaigns of the user's organizations, for list filters (texting's pages use it too)."""
    ids = organizer_scope(request).organization_ids(Role.SUPERVOLUNTEER)
    queryset = Campaign.objects.order_by("-id")
    return queryset if ids is None else queryset.filter(organization_id__in=ids)


def cell_search_term(term: str) -> str | None:
    """A search box entry that is a phone number, in E.164, so the search can use the cell index."""
    if sum(ch.isdigit() for ch in term) < 10:
        return None
    return normalize_cell(term)
