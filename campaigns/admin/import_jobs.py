"""Back office: contact imports with their reports, read only (the import job writes them)."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from accounts.admin_scoping import ReadOnlyScopedAdmin, scoped_related_filter
from campaigns.admin.lookups import campaigns_viewable
from campaigns.models import ImportJob, JobStatus


class ImportJobAdmin(ReadOnlyScopedAdmin):
    organization_lookup = "campaign__organization"
    list_display = ("created_at", "campaign", "original_name", "state", "report", "rejected_rows")
    list_filter = ("status", ("campaign", scoped_related_filter(campaigns_viewable)))
    list_select_related = ("campaign", "created_by")
    fields = (
        "campaign",
        "original_name",
        "created_by",
        "status",
        "progress_percent",
        "rows_total",
        "imported",
        "invalid_cell",
        "duplicates",
        "opted_out",
        "timezone_unknown",
        "rejected_rows",
        "error",
        "created_at",
        "finished_at",
    )
    readonly_fields = fields

    @admin.display(description="progress")
    def progress_percent(self, obj: ImportJob) -> str:
        return f"{obj.progress}%"

    @admin.display(description="status", ordering="status")
    def state(self, obj: ImportJob) -> str:
        if obj.status in (JobStatus.PENDING, JobStatus.RUNNING):
            return f"{obj.get_status_display()} ({obj.progress}%)"
        return obj.get_status_display()

    @admin.display(description="report")
    def report(self, obj: ImportJob) -> str:
        if obj.error:
            return obj.error
        return (
            f"{obj.imported} imported · {obj.invalid_cell} invalid cell · {obj.duplicates} duplicates · "
            f"{obj.opted_out} opted out · {obj.timezone_unknown} timezone unknown"
        )

    @admin.display(description="rejected rows")
    def rejected_rows(self, obj: ImportJob) -> str:
        if not obj.rejected_file:
            return "—"
        url = reverse("admin:campaigns_campaign_rejected_rows", args=[obj.campaign_id, obj.pk])
        return format_html('<a href="{}">Download</a>', url)
