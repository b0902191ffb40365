"""Message review in the back office: the conversation list's extra filters and its bulk actions.

Every filter is a query-string parameter, so a filtered review is a URL an organizer can bookmark
or share. The bulk actions work on the selected rows or, with Django admin's "Select all N", on
every conversation matching the filters (not just the page); above `BULK_JOB_THRESHOLD` contacts
they run as background jobs.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import SimpleListFilter
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from accounts.admin_scoping import organizer_scope
from accounts.models import Membership, Role, User
from campaigns import jobs as campaign_jobs
from campaigns.models import Campaign, Contact, ContactStatus, Tag
from campaigns.services import (
    ASSIGNABLE_ROLES,
    BULK_CHUNK,
    BULK_JOB_THRESHOLD,
    contacts_close_many,
    contacts_reassign,
    contacts_unassign,
)
from core.errors import ApplicationError
from core.jobs import enqueue
from texting.errors import CATALOG
from texting.models import Message

# --- Filters -------------------------------------------------------------------------------------


class TagFilter(SimpleListFilter):
    title = "tag"
    parameter_name = "tag"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        ids = organizer_scope(request).organization_ids(Role.SUPERVOLUNTEER)
        tags = Tag.objects.order_by("group", "name")
        if ids is not None:
            tags = tags.filter(organization_id__in=ids)
        return [("none", "No tag")] + [
            (str(tag.pk), f"{tag.group}: {tag.name}" if tag.group else tag.name) for tag in tags
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Contact]) -> QuerySet[Contact]:
        value = self.value()
        if value == "none":
            return queryset.filter(contacttag__isnull=True)
        if value and value.isdigit():
            return queryset.filter(contacttag__tag_id=int(value))
        return queryset


class ErrorCodeFilter(SimpleListFilter):
    """The provider error code: a message's own, or a contact's last failed message's."""

    title = "error"
    parameter_name = "error"
    template = "admin/texting/collapsed_filter.html"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("any", "Any error")] + [(str(code), f"{code}: {info.description}") for code, info in CATALOG.items()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value == "any":
            return queryset.filter(error_code__isnull=False)
        if value and value.isdigit():
            return queryset.filter(error_code=int(value))
        return queryset


class ResponseWindowFilter(SimpleListFilter):
    """Replies waiting longer than their campaign's response window."""

    title = "waiting for a reply"
    parameter_name = "waiting"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("overdue", "Longer than the response window"),
            ("within", "Within the response window"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Contact]) -> QuerySet[Contact]:
        if self.value() not in ("overdue", "within"):
            return queryset
        # Few distinct windows exist (48 hours is the default): one condition per window value.
        ids = organizer_scope(request).organization_ids(Role.SUPERVOLUNTEER)
        campaigns = Campaign.objects.order_by()
        if ids is not None:
            campaigns = campaigns.filter(organization_id__in=ids)
        windows = set(campaigns.values_list("response_window_hours", flat=True).distinct())
        now = timezone.now()
        overdue = Q(pk__in=[])
        for hours in windows:
            overdue |= Q(campaign__response_window_hours=hours, updated_at__lt=now - dt.timedelta(hours=hours))
        waiting = queryset.filter(status=ContactStatus.NEEDS_RESPONSE, is_opted_out=False)
        return waiting.filter(overdue) if self.value() == "overdue" else waiting.exclude(overdue)


class MessageTextFilter(admin.SimpleListFilter):
    """Conversations with a message containing the words typed (a text box in the sidebar)."""

    title = "message text"
    parameter_name = "text"
    template = "admin/texting/text_filter.html"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        # One dummy choice: Django shows a filter only when it has choices.
        return [("", "")]

    def has_output(self) -> bool:
        return True

    def choices(self, changelist: Any) -> Any:
        # The form carries every other filter of the page, so typing words narrows the review.
        hidden = [(key, value) for key, value in changelist.params.items() if key != self.parameter_name]
        yield {"hidden": hidden, "value": self.value() or ""}

    def queryset(self, request: HttpRequest, queryset: QuerySet[Contact]) -> QuerySet[Contact]:
        text = (self.value() or "").strip()
        if not text:
            return queryset
        return queryset.filter(
            id__in=Message.objects.filter(body__icontains=text, contact__isnull=False).values("contact_id")
        )


# --- Reassign form -------------------------------------------------------------------------------


def texters_for_review(request: HttpRequest, organization_ids: list[int]) -> QuerySet[User]:
    """Active members of these organizations (who may text), for the reassign form."""
    members = Membership.objects.filter(organization_id__in=organization_ids, role__in=ASSIGNABLE_ROLES)
    return User.objects.filter(is_active=True, id__in=members.values("user_id")).order_by(
        "first_name", "last_name", "email"
    )


class ReassignForm(forms.Form):
    texters = forms.ModelMultipleChoiceField(
        queryset=User.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        help_text="One texter takes every conversation; several share them evenly.",
    )

    def __init__(self, *args: Any, texters: QuerySet[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["texters"]
        assert isinstance(field, forms.ModelMultipleChoiceField)
        field.queryset = texters


# --- Actions -------------------------------------------------------------------------------------


class ReviewActionsMixin:
    """Bulk actions on conversations for ContactAdmin (supervolunteers and up)."""

    def _review_ids(self, request: HttpRequest, queryset: QuerySet[Contact]) -> list[int]:
        restricted = self.restrict_to(request, queryset, Role.SUPERVOLUNTEER)  # type: ignore[attr-defined]
        return list(restricted.order_by().values_list("id", flat=True))

    def _run_bulk(self, request: HttpRequest, job: Any, ids: list[int], verb: str, **kwargs: Any) -> int | None:
        """Run now, or queue jobs in chunks when there are many; returns the count done now."""
        if len(ids) <= BULK_JOB_THRESHOLD:
            return None
        for start in range(0, len(ids), BULK_CHUNK):
            enqueue(job, queue="default", contact_ids=ids[start : start + BULK_CHUNK], **kwargs)
        messages.info(
            request,
            f"{verb} {len(ids)} conversations in the background: refresh this page in a minute to see the result.",
        )
        return len(ids)

    @admin.action(description="Reassign to texters…", permissions=["status"])
    def reassign_selected(self, request: HttpRequest, queryset: QuerySet[Contact]) -> HttpResponse | None:
        ids = self._review_ids(request, queryset)
        restricted = self.restrict_to(request, queryset, Role.SUPERVOLUNTEER)  # type: ignore[attr-defined]
        org_ids = list(restricted.order_by().values_list("campaign__organization_id", flat=True).distinct())
        texters = texters_for_review(request, org_ids)
        form = ReassignForm(request.POST if "apply" in request.POST else None, texters=texters)
        if form.is_bound and form.is_valid():
            texter_ids = [user.pk for user in form.cleaned_data["texters"]]
            if self._run_bulk(request, campaign_jobs.reassign_contacts, ids, "Reassigning", texter_ids=texter_ids):
                return None
            try:
                moved = contacts_reassign(contact_ids=ids, texter_ids=texter_ids)
            except ApplicationError as error:
                messages.error(request, error.message)
                return None
            summary = ", ".join(f"{user} {moved.get(user.pk, 0)}" for user in form.cleaned_data["texters"])
            total = sum(moved.values())
            messages.success(request, f"Reassigned {total} conversation{'' if total == 1 else 's'} ({summary}).")
            return None
        return TemplateResponse(
            request,
            "admin/texting/reassign.html",
            {
                **self.admin_site.each_context(request),  # type: ignore[attr-defined]
                "opts": self.opts,  # type: ignore[attr-defined]
                "title": "Reassign conversations",
                "form": form,
                "count": len(ids),
                "select_across": request.POST.get("select_across", "0"),
                "selected": request.POST.getlist(ACTION_CHECKBOX_NAME),
                "action": "reassign_selected",
            },
        )

    @admin.action(description="Un-assign the selected conversations", permissions=["status"])
    def unassign_selected(self, request: HttpRequest, queryset: QuerySet[Contact]) -> None:
        ids = self._review_ids(request, queryset)
        if self._run_bulk(request, campaign_jobs.unassign_contacts, ids, "Un-assigning"):
            return
        done = contacts_unassign(contact_ids=ids)
        messages.success(request, f"Un-assigned {done} conversation{'' if done == 1 else 's'}.")

    def _close_many(self, request: HttpRequest, ids: list[int]) -> bool:
        if self._run_bulk(request, campaign_jobs.close_contacts, ids, "Closing"):
            return True
        done = contacts_close_many(contact_ids=ids)
        messages.success(request, f"Closed {done} conversation{'' if done == 1 else 's'}.")
        return True
