"""Back office: the system page, for owners. Is sending keeping up, are the workers alive, what
fails and why, what waits for a person to check, and the maintenance switch.

Registered as the admin of `ops.MaintenanceState` (the switch's row), so it sits in the sidebar
under *Operations → System status* with no model of its own. Owners only (superusers too): what it
shows about messages is cut to the organizations they own; the workers, the job queues, the
throughput chart and the switch are the server's, shared by every organization on it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.admin_scoping import acting_user, organizer_scope
from accounts.models import Organization, Role
from ops.maintenance import maintenance_get, maintenance_row, maintenance_set
from ops.metrics import per_minute_read
from ops.models import MaintenanceState
from texting.monitoring import (
    errors_by_code,
    outbox_depth,
    outbox_resume,
    review_messages_fail,
    review_messages_list,
    review_messages_release,
)

CHART_WIDTH = 720
CHART_HEIGHT = 140
CHART_MINUTES = 60


def throughput_chart(*, now: float | None = None) -> dict[str, Any]:
    """Messages the provider accepted per minute over the last hour, as SVG bars (no chart library)."""
    series = per_minute_read("sent", minutes=CHART_MINUTES, now=now)
    top = max((n for _, n in series), default=0) or 1
    slot = CHART_WIDTH / CHART_MINUTES
    bars = []
    for index, (minute, count) in enumerate(series):
        local = timezone.localtime(dt.datetime.fromtimestamp(minute * 60, dt.UTC))
        height = round(CHART_HEIGHT * count / top, 1)
        bars.append(
            {
                "x": round(index * slot + 1, 1),
                "y": round(CHART_HEIGHT - height, 1),
                "width": round(slot - 2, 1),
                "height": height,
                "title": f"{local:%H:%M} — {count} sent",
                "tick": f"{local:%H:%M}" if local.minute % 15 == 0 else "",
                "tick_x": round(index * slot, 1),
            }
        )
    total = sum(n for _, n in series)
    last_minute = series[-2][1] if len(series) > 1 else 0  # the last whole minute
    return {
        "bars": bars,
        "top": top,
        "total": total,
        "per_second": round(last_minute / 60, 1),
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
    }


def rq_overview() -> dict[str, Any]:
    """RQ's workers (from its registry of live workers) and its queues' lengths; empty without Redis."""
    from django.conf import settings

    if settings.JOBS_SYNC:
        return {"in_process": True, "workers": [], "queues": []}
    import django_rq
    from rq import Worker

    connection = django_rq.get_connection("default")
    workers = []
    for worker in sorted(Worker.all(connection=connection), key=lambda w: w.name):
        job = worker.get_current_job()
        workers.append(
            {
                "name": worker.name,
                "state": worker.get_state(),
                "queues": ", ".join(worker.queue_names()),
                "job": job.description if job is not None else "",
                "heartbeat": worker.last_heartbeat,
                "done": worker.successful_job_count,
                "failed": worker.failed_job_count,
            }
        )
    queues = []
    for name in settings.RQ_QUEUES:
        queue = django_rq.get_queue(name)
        queues.append(
            {
                "name": name,
                "waiting": queue.count,
                "scheduled": queue.scheduled_job_registry.count,
                "failed": queue.failed_job_registry.count,
            }
        )
    return {"in_process": False, "workers": workers, "queues": queues}


@admin.register(MaintenanceState)
class SystemAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    # --- owners only, and nothing to add, change or delete: the page is the changelist

    def _owner(self, request: HttpRequest) -> bool:
        return organizer_scope(request).allows(Role.OWNER)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._owner(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._owner(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[Any]:
        return [
            path("maintenance/", self.admin_site.admin_view(self.maintenance_view), name="ops_system_maintenance"),
            path("review/", self.admin_site.admin_view(self.review_view), name="ops_system_review"),
            *super().get_urls(),
        ]

    def _organization_ids(self, request: HttpRequest) -> list[int]:
        ids = organizer_scope(request).organization_ids(Role.OWNER)
        # A superuser's "every organization" is spelled out, so the reads use the campaign index.
        return list(Organization.objects.values_list("id", flat=True)) if ids is None else ids

    def _require_owner(self, request: HttpRequest) -> None:
        if not self._owner(request):
            raise PermissionDenied

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        self._require_owner(request)
        organization_ids = self._organization_ids(request)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "System status",
            "maintenance": maintenance_get(),
            "maintenance_row": maintenance_row(),
            "outbox": outbox_depth(organization_ids=organization_ids),
            "now": timezone.now(),
            "chart": throughput_chart(),
            "rq": rq_overview(),
            "errors": errors_by_code(organization_ids=organization_ids),
            "review": review_messages_list(organization_ids=organization_ids),
        }
        return TemplateResponse(request, "admin/texting/system.html", context)

    def _back(self) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:ops_maintenancestate_changelist"))

    def maintenance_view(self, request: HttpRequest) -> HttpResponse:
        return require_POST(self._maintenance)(request)

    def _maintenance(self, request: HttpRequest) -> HttpResponse:
        # The switch stops every organization's sending: it is the server operator's (a superuser,
        # or `manage.py maintenance`), like the RQ dashboard; owners see its state.
        if not request.user.is_superuser:
            raise PermissionDenied
        enabled = request.POST.get("enabled") == "on"
        user = acting_user(request)
        state = maintenance_set(enabled=enabled, message=request.POST.get("message", ""), acting=user.email)
        if enabled:
            messages.warning(request, "Maintenance is on: texters see the notice and sending waits.")
        else:
            services = outbox_resume()
            note = f" The outbox of {len(services)} messaging service(s) is sending again." if services else ""
            if state.forced:
                messages.error(request, "MAINTENANCE_MODE is set in the environment: unset it to end maintenance.")
            else:
                messages.success(request, "Maintenance is off." + note)
        return self._back()

    def review_view(self, request: HttpRequest) -> HttpResponse:
        return require_POST(self._review)(request)

    def _review(self, request: HttpRequest) -> HttpResponse:
        self._require_owner(request)
        ids = [int(value) for value in request.POST.getlist("message") if value.isdigit()]
        action = request.POST.get("action")
        if not ids or action not in {"fail", "release"}:
            messages.error(request, "Tick the messages to act on, then choose Mark failed or Send again.")
            return self._back()
        who = acting_user(request).email
        organization_ids = self._organization_ids(request)
        if action == "fail":
            done = review_messages_fail(organization_ids=organization_ids, message_ids=ids, acting=who)
            messages.success(request, f"{done} message(s) marked failed.")
        else:
            done = review_messages_release(organization_ids=organization_ids, message_ids=ids, acting=who)
            messages.success(request, f"{done} message(s) back in the outbox: they will be sent again.")
        return self._back()
