"""Every admin action is recorded in Django's admin log with who and when.

Django logs the add, change and delete pages by itself, and Spoke's own pages (start, archive,
export, assign, upload…) call `log_change`. Bulk actions on the change lists do not log anything
in Django, so this mixin records one entry per action run: what it was, on how many rows (or
"every matching row" when the whole filtered list was selected), by whom, when.
"""

from __future__ import annotations

from typing import Any

from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect


class AuditedActionsMixin:
    def response_action(self, request: HttpRequest, queryset: QuerySet[Any]) -> HttpResponse | None:
        response = super().response_action(request, queryset)  # type: ignore[misc]
        # A redirect means the action ran; an intermediate page (asking for more) changed nothing yet.
        if isinstance(response, HttpResponseRedirect):
            admin_action_record(request=request, model=self.model)  # type: ignore[attr-defined]
        return response


def admin_action_record(*, request: HttpRequest, model: type[Any]) -> LogEntry:
    name = request.POST.get("action", "")
    if request.POST.get("select_across") == "1":
        what = f"every matching {model._meta.verbose_name}"
    else:
        count = len(request.POST.getlist(ACTION_CHECKBOX_NAME))
        what = f"{count} {model._meta.verbose_name if count == 1 else model._meta.verbose_name_plural}"
    filters = request.GET.urlencode()
    return LogEntry.objects.create(
        user_id=request.user.pk or 0,  # only staff reach an admin action
        content_type=ContentType.objects.get_for_model(model),
        object_id=None,
        object_repr=f"Action “{name}” on {what}"[:200],
        action_flag=CHANGE,
        change_message=f"Ran the action “{name}” on {what}" + (f" (filters: {filters})" if filters else ""),
    )
