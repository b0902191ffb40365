"""Back office: opted-out cells per organization, opting back in, and the audit trail of both."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path

from accounts.admin_scoping import OrganizationScopedAdmin, ReadOnlyScopedAdmin, acting_user, scoped_related_filter
from accounts.models import Role
from campaigns.admin.lookups import cell_search_term, organizations_viewable
from campaigns.models import OptOut, OptOutEvent, OptOutSource
from campaigns.phones import normalize_cell
from campaigns.services import optout_create, optout_remove


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
        name = f"{self.opts.app_label}_{self.opts.model_name}_opt_in"
        return [
            path("<int:object_id>/opt-in/", self.admin_site.admin_view(self.opt_in_view), name=name),
            *super().get_urls(),
        ]

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
