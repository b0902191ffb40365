"""Back office: the organization's tags."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from accounts.admin_scoping import OrganizationScopedAdmin, scoped_related_filter
from accounts.models import Role
from campaigns.admin.lookups import organizations_viewable


class TagAdmin(OrganizationScopedAdmin):
    delete_role = Role.ADMIN
    list_display = ("name", "group", "organization", "description")
    list_filter = ("group", ("organization", scoped_related_filter(organizations_viewable)))
    list_select_related = ("organization",)
    search_fields = ("name", "group")
    fields = ("organization", "name", "group", "description")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ("organization",) if obj is not None else ()
