"""Back office: invite links. Owners and admins create a join link for a role (optionally for one
email), copy it, see which links are still open and until when, and revoke one.

The link is the invite: whoever opens it joins with its role, once, until it expires
(INVITE_MAX_AGE_DAYS). An admin invites up to admin; only an owner hands out the owner role.
Revoking deletes the invite, so its link answers "not valid"; a used invite stays as the record
of who joined through it.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils import timezone
from django.utils.html import format_html

from accounts.admin_scoping import (
    OrganizationScopedAdmin,
    OrganizerScope,
    acting_user,
    organizer_scope,
    scoped_related_filter,
)
from accounts.models import ROLE_RANK, Invite, Organization, Role
from accounts.services import invite_create, invite_url

INVITABLE_ROLES = [(value, label) for value, label in Role.choices if value != Role.SUSPENDED]


def _invite_problem(scope: OrganizerScope, organization_id: int, role: str) -> str | None:
    """Why the user may not hand out `role` in that organization (None when they may)."""
    mine = scope.role_in(organization_id)
    if mine is None or ROLE_RANK[mine] < ROLE_RANK[Role.ADMIN]:
        return "Only the organization's owners and admins invite people."
    if ROLE_RANK[Role(role)] > ROLE_RANK[mine]:
        return f"Only an owner can invite someone as {Role(role).label.lower()}."
    return None


def _copy_box(url: str, *, size: int) -> str:
    """The link in a read-only box with a Copy button (static/backoffice/copy_link.js)."""
    return format_html(
        '<input type="text" readonly value="{}" size="{}" class="spoke-copy-source" aria-label="Join link"> '
        '<button type="button" class="button spoke-copy-button">Copy</button>',
        url,
        size,
    )


def _organizations_for_invites(request: HttpRequest) -> QuerySet[Organization]:
    return organizer_scope(request).organizations(Role.ADMIN)


class InviteForm(forms.ModelForm):  # type: ignore[type-arg]
    scope: OrganizerScope = OrganizerScope()

    role = forms.ChoiceField(
        choices=INVITABLE_ROLES,
        initial=Role.TEXTER,
        help_text="Texters use the texter app; supervolunteers, admins and owners also open this back office.",
    )

    class Meta:
        model = Invite
        fields = ("organization", "role", "email")

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        organization, role = cleaned.get("organization"), cleaned.get("role")
        if organization is not None and role:
            problem = _invite_problem(self.scope, organization.pk, role)
            if problem:
                self.add_error("role", problem)
        return cleaned


class InviteStateFilter(admin.SimpleListFilter):
    """Open links first: that is what an organizer comes to copy or revoke."""

    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("open", "Open"), ("used", "Used"), ("expired", "Expired, unused"), ("all", "All")]

    def choices(self, changelist: ChangeList) -> Any:
        current = self.value() or "open"
        for lookup, title in self.lookup_choices:
            yield {
                "selected": current == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request: HttpRequest, queryset: QuerySet[Invite]) -> QuerySet[Invite]:
        now = timezone.now()
        state = self.value() or "open"
        if state == "open":
            return queryset.filter(accepted_at__isnull=True, expires_at__gt=now)
        if state == "used":
            return queryset.filter(accepted_at__isnull=False)
        if state == "expired":
            return queryset.filter(accepted_at__isnull=True, expires_at__lte=now)
        return queryset


@admin.register(Invite)
class InviteAdmin(OrganizationScopedAdmin):
    view_role = Role.ADMIN
    edit_role = Role.ADMIN
    delete_role = Role.ADMIN

    form = InviteForm
    list_display = ("role", "organization", "email", "state", "expires_at", "created_by", "link")
    list_filter = (InviteStateFilter, "role", ("organization", scoped_related_filter(_organizations_for_invites)))
    list_select_related = ("organization", "created_by", "accepted_by")
    search_fields = ("email",)
    ordering = ("-id",)
    show_full_result_count = False
    actions = ("revoke_selected",)

    class Media:
        js = ("backoffice/copy_link.js",)

    # --- pages

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ("organization", "role", "email")
        return ("join_link", "organization", "role", "email", "state", "expires_at", "created_by", "created_at")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.get_fields(request, obj) if obj is not None else ()

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # An invite is not edited: revoke it and make another.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.accepted_at is not None:
            return False  # the record of who joined through it stays
        return super().has_delete_permission(request, obj)

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        form.scope = organizer_scope(request)  # type: ignore[attr-defined]
        return form

    def get_actions(self, request: HttpRequest) -> Any:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # "revoke" says what deleting an invite does
        return actions

    def save_model(self, request: HttpRequest, obj: Invite, form: Any, change: bool) -> None:
        # The form has checked the role against the person's own.
        invite = invite_create(
            organization=obj.organization, role=obj.role, email=obj.email, acting_user=acting_user(request)
        )
        for name in ("id", "token", "email", "created_by", "created_at", "expires_at"):
            setattr(obj, name, getattr(invite, name))
        obj._state.adding = False

    def response_add(self, request: HttpRequest, obj: Invite, post_url_continue: str | None = None) -> HttpResponse:
        messages.success(
            request,
            f"Invite link created. Copy it below and send it to the person: it works once, "
            f"until {timezone.localtime(obj.expires_at):%b %d, %Y %H:%M}.",
        )
        return HttpResponseRedirect(self.admin_url("change", obj.pk))

    # --- columns

    @admin.display(description="state")
    def state(self, obj: Invite) -> str:
        if obj.accepted_at is not None:
            who = obj.accepted_by.email if obj.accepted_by else "someone since removed"
            return f"used by {who} on {timezone.localtime(obj.accepted_at):%b %d, %Y}"
        if obj.expires_at <= timezone.now():
            return "expired"
        return "open"

    @admin.display(description="join link")
    def link(self, obj: Invite) -> str:
        if obj.accepted_at is not None or obj.expires_at <= timezone.now():
            return "—"
        return _copy_box(invite_url(invite=obj), size=45)

    @admin.display(description="join link")
    def join_link(self, obj: Invite) -> str:
        if obj.accepted_at is not None:
            return "Used: this link no longer works."
        if obj.expires_at <= timezone.now():
            return "Expired: this link no longer works. Create a new invite."
        return format_html(
            "{}<div class='help'>Whoever opens it joins as {} (signing up if they have no account). "
            "Delete this invite to revoke the link.</div>",
            _copy_box(invite_url(invite=obj), size=70),
            obj.get_role_display().lower(),
        )

    # --- revoking

    @admin.action(description="Revoke the selected invites (their links stop working)", permissions=["delete"])
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet[Invite]) -> None:
        revocable = self.restrict_to(request, queryset, self.delete_role).filter(accepted_at__isnull=True)
        self.log_deletions(request, revocable)
        revoked, _ = revocable.delete()
        messages.success(request, f"Revoked {revoked} invite{'' if revoked == 1 else 's'}.")
        skipped = queryset.count() - revoked
        if skipped:
            messages.warning(request, f"{skipped} used invite{'' if skipped == 1 else 's'} kept as a record.")
