"""Back office: opted-out cells per organization, opting back in, and the audit trail of both."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path

from accounts.admin_scoping import (
    OrganizationScopedAdmin,
    ReadOnlyScopedAdmin,
    acting_user,
    organizer_scope,
    scoped_related_filter,
)
from accounts.models import Organization, Role
from campaigns import jobs as campaign_jobs
from campaigns.admin.lookups import cell_search_term, organizations_viewable
from campaigns.models import OptOut, OptOutEvent, OptOutSource
from campaigns.phones import normalize_cell
from campaigns.services import optout_create, optout_remove
from core.jobs import enqueue
from core.spreadsheets import spreadsheet_safe
from core.uploads import LimitedFileField

# Above this many numbers, an opt-out file is imported by background jobs of this size.
OPTOUT_IMPORT_CHUNK = 500


class OptOutForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = OptOut
        fields = ("organization", "cell", "reason")
        help_texts = {
            "cell": "Any common US format, like (202) 555-0175.",
            "reason": "Why, for the audit trail: “asked by email”, “wrong number”…",
        }

    def clean_cell(self) -> str:
        cell = normalize_cell(self.cleaned_data["cell"])
        if cell is None:
            raise forms.ValidationError("This is not a valid phone number.")
        return cell


class OptBackInForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Required, for the audit trail: for example “texted START”, “asked by email on 3 May”.",
    )


class OptOutImportForm(forms.Form):
    organization = forms.ModelChoiceField(queryset=Organization.objects.none())
    file = LimitedFileField(
        label="Numbers (CSV)",
        help_text="One phone number per row, in the first column; a header row is fine.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )
    reason = forms.CharField(max_length=500, help_text="Kept in the audit trail, like “list from our old vendor”.")

    def __init__(self, *args: Any, request: HttpRequest, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["organization"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = organizer_scope(request).organizations(Role.ADMIN)


class OptOutAdmin(OrganizationScopedAdmin):
    """Opted-out cells per organization. Opting back in asks why and keeps an audit event."""

    edit_role = None
    add_role = Role.ADMIN
    form = OptOutForm
    list_display = ("cell", "organization", "source", "reason", "created_by", "created_at")
    list_filter = ("source", ("organization", scoped_related_filter(organizations_viewable)), "created_at")
    list_select_related = ("organization", "created_by")
    search_fields = ("=cell",)
    search_help_text = "A phone number, in any format."
    show_full_result_count = False
    actions = ("opt_back_in",)
    readonly_fields = ("source", "created_by", "created_at")

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ("organization", "cell", "reason")
        return ("organization", "cell", "source", "reason", "created_by", "created_at")

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[OptOut], search_term: str) -> Any:
        return super().get_search_results(request, queryset, cell_search_term(search_term) or search_term)

    def save_model(self, request: HttpRequest, obj: OptOut, form: Any, change: bool) -> None:
        saved = optout_create(
            organization=obj.organization,
            cell=obj.cell,
            source=OptOutSource.ORGANIZER,
            reason=obj.reason,
            acting_user=acting_user(request),
        )
        obj.pk, obj.source, obj.created_at, obj.created_by = saved.pk, saved.source, saved.created_at, saved.created_by
        obj._state.adding = False

    def has_opt_in_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allows(request, Role.ADMIN, obj)

    @admin.action(description="Opt the selected numbers back in…", permissions=["opt_in"])
    def opt_back_in(self, request: HttpRequest, queryset: QuerySet[OptOut]) -> HttpResponse | None:
        optouts = self.restrict_to(request, queryset, Role.ADMIN).select_related("organization")
        return self._opt_back_in(request, list(optouts), from_changelist=True)

    def get_urls(self) -> list[Any]:
        info = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path("<int:object_id>/opt-in/", self.admin_site.admin_view(self.opt_in_view), name=f"{info}_opt_in"),
            path("export.csv", self.admin_site.admin_view(self.export_view), name=f"{info}_export"),
            path("import/", self.admin_site.admin_view(self.import_view), name=f"{info}_import"),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        extra = {
            "export_url": self.admin_url("export") + ("?" + request.GET.urlencode() if request.GET else ""),
            "import_url": self.admin_url("import") if self._allows(request, Role.ADMIN, None) else "",
        }
        return super().changelist_view(request, {**(extra_context or {}), **extra})

    def export_view(self, request: HttpRequest) -> StreamingHttpResponse:
        """Every opt-out the changelist's filters and search match, streamed (no page, no cap)."""
        changelist = self.get_changelist_instance(request)
        rows = changelist.get_queryset(request).select_related("organization", "created_by").order_by("id")

        def lines() -> Iterator[str]:
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            writer.writerow(["cell", "organization", "source", "reason", "created_by", "created_at"])
            for optout in rows.iterator(chunk_size=2000):
                writer.writerow(
                    [
                        spreadsheet_safe(value)
                        for value in (
                            optout.cell,
                            optout.organization.name,
                            optout.source,
                            optout.reason,
                            optout.created_by.email if optout.created_by else "",
                            optout.created_at.isoformat(),
                        )
                    ]
                )
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
            yield buffer.getvalue()

        response = StreamingHttpResponse(lines(), content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="opt-outs.csv"'
        return response

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not self._allows(request, Role.ADMIN, None):
            raise PermissionDenied
        form = OptOutImportForm(request.POST or None, request.FILES or None, request=request)
        if request.method == "POST" and form.is_valid():
            try:
                added, invalid, queued = self._import(request, form)
            except (UnicodeDecodeError, csv.Error):
                messages.error(request, "The file is not a UTF-8 CSV: save it from your spreadsheet as “CSV UTF-8”.")
            else:
                note = f" {len(invalid)} rows were not phone numbers: {', '.join(invalid[:5])}." if invalid else ""
                if queued:
                    messages.success(
                        request, f"Opting out {added} numbers in the background: refresh in a minute.{note}"
                    )
                else:
                    messages.success(request, f"Opted out {added} numbers.{note}")
                return redirect(self.admin_url("changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Import opt-outs",
            "form": form,
        }
        return TemplateResponse(request, "admin/campaigns/optout/import.html", context)

    def _import(self, request: HttpRequest, form: OptOutImportForm) -> tuple[int, list[str], bool]:
        """Opt out every number of the file: at once for a short list, in background jobs of
        `OPTOUT_IMPORT_CHUNK` numbers for a long one (each opt-out closes contacts everywhere)."""
        organization = form.cleaned_data["organization"]
        reason = form.cleaned_data["reason"]
        text = io.TextIOWrapper(form.cleaned_data["file"], encoding="utf-8-sig", newline="")
        cells: list[str] = []
        invalid: list[str] = []
        for row in csv.reader(text):
            value = next((cell for cell in row if cell.strip()), "")
            if not value or value.strip().lower() in ("cell", "phone", "number"):
                continue
            cell = normalize_cell(value)
            if cell is None:
                invalid.append(value)
            else:
                cells.append(cell)
        cells = list(dict.fromkeys(cells))
        if len(cells) > OPTOUT_IMPORT_CHUNK:
            for start in range(0, len(cells), OPTOUT_IMPORT_CHUNK):
                enqueue(
                    campaign_jobs.import_optouts,
                    organization_id=organization.pk,
                    cells=cells[start : start + OPTOUT_IMPORT_CHUNK],
                    reason=reason,
                    acting_user_id=acting_user(request).pk,
                )
            return len(cells), invalid, True
        for cell in cells:
            optout_create(
                organization=organization,
                cell=cell,
                source=OptOutSource.IMPORT,
                reason=reason,
                acting_user=acting_user(request),
            )
        return len(cells), invalid, False

    def opt_in_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        optout = self.get_object(request, str(object_id))
        self.require(request, Role.ADMIN, optout)
        response = self._opt_back_in(request, [optout], from_changelist=False)
        return response or redirect(self.admin_url("changelist"))

    def _opt_back_in(self, request: HttpRequest, optouts: list[OptOut], *, from_changelist: bool) -> Any:
        confirmed = request.method == "POST" and request.POST.get("confirm") == "yes"
        form = OptBackInForm(request.POST if confirmed else None)
        if confirmed and form.is_valid():
            reason = form.cleaned_data["reason"]
            for optout in optouts:
                optout_remove(
                    organization=optout.organization, cell=optout.cell, reason=reason, acting_user=acting_user(request)
                )
                self.log_change(request, optout, f"Opted back in: {reason}")
            cells = ", ".join(optout.cell for optout in optouts)
            messages.success(request, f"Opted back in: {cells}. The audit trail keeps the reason.")
            return None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Opt back in",
            "optouts": optouts,
            "form": form,
            "from_changelist": from_changelist,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/campaigns/optout/opt_back_in.html", context)

    def change_form_context(self, request: HttpRequest, obj: Any) -> dict[str, Any]:
        return {"opt_in_url": self.admin_url("opt_in", obj.pk)} if self.has_opt_in_permission(request, obj) else {}


class OptOutEventAdmin(ReadOnlyScopedAdmin):
    """Every opt-out and opt-in with who, when and why. Never edited or deleted."""

    list_display = ("created_at", "cell", "action", "source", "reason", "created_by", "organization")
    list_filter = ("action", "source", ("organization", scoped_related_filter(organizations_viewable)))
    list_select_related = ("organization", "created_by")
    search_fields = ("=cell",)
    search_help_text = "A phone number, in any format."
    show_full_result_count = False

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[OptOutEvent], search_term: str) -> Any:
        return super().get_search_results(request, queryset, cell_search_term(search_term) or search_term)
