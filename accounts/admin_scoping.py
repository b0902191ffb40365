"""What every back-office page shares: the organizer's scope, role checks and big-table helpers.

The back office is Django admin, but Django's model permissions are not used: an organizer's
role in each organization (owner > admin > supervolunteer) decides what they see and change, and
every queryset is cut to the organizations they organize. A foreign id answers 404.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar, cast
from zoneinfo import available_timezones

from django import forms
from django.contrib import admin
from django.contrib.admin.filters import RelatedFieldListFilter
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import models
from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from django.urls import reverse

from accounts.admin_audit import AuditedActionsMixin
from accounts.models import ROLE_RANK, Organization, Role, User
from accounts.selectors import organizations_for_organizer

# --- The organizer's scope ----------------------------------------------------------------------


@dataclass(frozen=True)
class OrganizerScope:
    """The organizations a back-office user organizes, with their role in each."""

    is_superuser: bool = False
    roles: Mapping[int, Role] = field(default_factory=dict)

    def organization_ids(self, at_least: Role) -> list[int] | None:
        """Ids of the organizations where the user holds `at_least`; None means every one (superuser)."""
        if self.is_superuser:
            return None
        return sorted(org_id for org_id, role in self.roles.items() if ROLE_RANK[role] >= ROLE_RANK[at_least])

    def allows(self, at_least: Role | None, organization_id: int | None = None) -> bool:
        """Whether the user holds `at_least` in that organization (in any, when no id is given)."""
        if at_least is None:
            return False
        if self.is_superuser:
            return True
        if organization_id is None:
            return any(ROLE_RANK[role] >= ROLE_RANK[at_least] for role in self.roles.values())
        role = self.roles.get(organization_id)
        return role is not None and ROLE_RANK[role] >= ROLE_RANK[at_least]

    def role_in(self, organization_id: int) -> Role | None:
        if self.is_superuser:
            return Role.OWNER
        return self.roles.get(organization_id)

    def organizations(self, at_least: Role) -> QuerySet[Organization]:
        ids = self.organization_ids(at_least)
        queryset = Organization.objects.all()
        return queryset if ids is None else queryset.filter(id__in=ids)


_SCOPE_ATTRIBUTE = "_spoke_organizer_scope"


def acting_user(request: HttpRequest) -> User:
    """The request's user, for services that record who acted (admin views are never anonymous)."""
    user = request.user
    assert isinstance(user, User)
    return user


def organizer_scope(request: HttpRequest) -> OrganizerScope:
    """The request user's scope: one query per request, then cached on the request."""
    cached = getattr(request, _SCOPE_ATTRIBUTE, None)
    if cached is not None:
        return cached
    user = request.user
    if not user.is_authenticated or not user.is_active:
        scope = OrganizerScope()
    elif user.is_superuser:
        scope = OrganizerScope(is_superuser=True)
    else:
        assert isinstance(user, User)
        # The selector joins the user's own organizer memberships; reading the role through the
        # same join gives "organization → role" in one statement.
        rows = organizations_for_organizer(user=user).values_list("id", "memberships__role")
        scope = OrganizerScope(roles={org_id: Role(role) for org_id, role in rows})
    setattr(request, _SCOPE_ATTRIBUTE, scope)
    return scope


def scoped(queryset: QuerySet[Any], *, lookup: str, organization_ids: list[int] | None) -> QuerySet[Any]:
    """Cut `queryset` to rows whose organization (reached through `lookup`) is in the list."""
    if organization_ids is None:
        return queryset
    key = f"{lookup}_id__in" if lookup else "id__in"
    return queryset.filter(**{key: organization_ids})


def organization_id_through(obj: models.Model, lookup: str) -> int | None:
    """The organization id reached from `obj` along an ORM path like "campaign__organization"."""
    if not lookup:
        return obj.pk
    *path, last = lookup.split("__")
    target: Any = obj
    for part in path:
        target = getattr(target, part)
        if target is None:
            return None
    return getattr(target, f"{last}_id")


# --- ModelAdmin and inline bases ----------------------------------------------------------------


class OrganizationScopedAdmin(AuditedActionsMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    """A ModelAdmin cut to the organizer's organizations, gated by role instead of model permissions.

    `organization_lookup` is the ORM path from the model to its Organization ("" for Organization
    itself). `view_role` may look, `add_role` may add (defaults to `edit_role`), `edit_role` may
    change, `delete_role` may delete; None means nobody, superusers included (read-only records).
    """

    organization_lookup: ClassVar[str] = "organization"
    view_role: ClassVar[Role] = Role.SUPERVOLUNTEER
    edit_role: ClassVar[Role | None] = Role.ADMIN
    add_role: ClassVar[Role | None] = None
    delete_role: ClassVar[Role | None] = None

    # --- scoping

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        scope = organizer_scope(request)
        return scoped(
            super().get_queryset(request),
            lookup=self.organization_lookup,
            organization_ids=scope.organization_ids(self.view_role),
        )

    def organization_id_of(self, obj: models.Model) -> int | None:
        return organization_id_through(obj, self.organization_lookup)

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Any:
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            # Another organization's id looks exactly like an id that never existed.
            raise Http404(f"There is no {self.opts.verbose_name} with that id in your organizations.")
        return obj

    def restrict_to(self, request: HttpRequest, queryset: QuerySet[Any], role: Role | None) -> QuerySet[Any]:
        """Keep the rows of `queryset` the user may act on with `role` (for bulk actions)."""
        if role is None:
            return queryset.none()
        return scoped(
            queryset, lookup=self.organization_lookup, organization_ids=organizer_scope(request).organization_ids(role)
        )

    def require(self, request: HttpRequest, role: Role | None, obj: models.Model) -> None:
        if not organizer_scope(request).allows(role, self.organization_id_of(obj)):
            raise PermissionDenied

    # --- roles instead of model permissions

    def _allows(self, request: HttpRequest, role: Role | None, obj: models.Model | None) -> bool:
        scope = organizer_scope(request)
        return scope.allows(role, None if obj is None else self.organization_id_of(obj))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._allows(request, self.view_role, None)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allows(request, self.view_role, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._allows(request, self.add_role or self.edit_role, None)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allows(request, self.edit_role, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allows(request, self.delete_role, obj)

    # --- pages

    def admin_url(self, name: str, *args: Any) -> str:
        """This model's admin URL `name` ("change", "changelist", or one of its own views)."""
        return reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_{name}", args=args)

    def change_form_context(self, request: HttpRequest, obj: Any) -> dict[str, Any]:
        """What a subclass adds to the change form of an existing object (its buttons' URLs...)."""
        return {}

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Any = None,
    ) -> Any:
        if obj is not None:
            context.update(self.change_form_context(request, obj))
        return super().render_change_form(request, context, add, change, form_url, obj)

    # --- choices

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.related_model is Organization:
            return organization_choice_field(
                db_field, request, at_least=self.add_role or self.edit_role or self.view_role, **kwargs
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ReadOnlyScopedAdmin(OrganizationScopedAdmin):
    """Records kept for the audit trail or written by jobs: listed and shown, never edited here."""

    edit_role = None
    add_role = None
    delete_role = None


class ScopedInline(admin.TabularInline):  # type: ignore[type-arg]
    """An inline whose permissions follow the parent object's organization (the parent's role gates)."""

    parent_organization_lookup: ClassVar[str] = "organization"
    view_role: ClassVar[Role] = Role.SUPERVOLUNTEER
    edit_role: ClassVar[Role | None] = Role.ADMIN

    def _parent_organization_id(self, obj: Any) -> int | None:
        return None if obj is None else organization_id_through(obj, self.parent_organization_lookup)

    def _allows(self, request: HttpRequest, role: Role | None, obj: Any) -> bool:
        return organizer_scope(request).allows(role, self._parent_organization_id(obj))

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allows(request, self.view_role, obj)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allows(request, self.edit_role, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allows(request, self.edit_role, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allows(request, self.edit_role, obj)


def organization_choice_field(db_field: Any, request: HttpRequest, *, at_least: Role, **kwargs: Any) -> Any:
    """An organization dropdown holding only the user's organizations, preset when there is one."""
    organizations = organizer_scope(request).organizations(at_least)
    kwargs["queryset"] = organizations
    ids = list(organizations.values_list("id", flat=True)[:2])
    if len(ids) == 1:
        kwargs.setdefault("initial", ids[0])
        kwargs.setdefault("empty_label", None)
    return db_field.formfield(**kwargs)


# --- List filters -------------------------------------------------------------------------------


def scoped_related_filter(
    choices: Callable[[HttpRequest], QuerySet[Any]], *, title: str | None = None
) -> type[RelatedFieldListFilter]:
    """A related-object list filter whose choices are `choices(request)`, not the whole table.

    Django's own RelatedFieldListFilter offers every row of the related table: other
    organizations' campaign titles and people would show up in the sidebar.
    """

    class ScopedRelatedFieldListFilter(RelatedFieldListFilter):
        def __init__(self, field: Any, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
            self._scoped_choices = choices(request)
            super().__init__(field, request, *args, **kwargs)
            if title:
                self.title = title

        def field_choices(self, field: Any, request: HttpRequest, model_admin: Any) -> Any:
            return [(str(obj.pk), str(obj)) for obj in self._scoped_choices]

    return ScopedRelatedFieldListFilter


# --- Big tables ---------------------------------------------------------------------------------


class CappedCountPaginator(Paginator):  # type: ignore[type-arg]
    """Counts at most `cap` rows: on millions of messages an exact COUNT(*) costs more than the page.

    The changelist then offers the first `cap` rows' pages and says "10000+"; search and filters
    narrow the list to what an organizer actually looks for.
    """

    cap = 10_000
    capped = False  # True once `count` met more rows than the cap

    @cached_property
    def count(self) -> int:
        queryset = cast("QuerySet[Any]", self.object_list)
        counted = queryset[: self.cap + 1].count()
        self.capped = counted > self.cap
        return min(counted, self.cap)


# --- Form choices -------------------------------------------------------------------------------

US_TIMEZONES = (
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
    "America/Puerto_Rico",
)


def timezone_choices() -> list[tuple[str, Any]]:
    others = sorted(name for name in available_timezones() if name not in US_TIMEZONES)
    return [
        ("United States", [(name, name.replace("_", " ")) for name in US_TIMEZONES]),
        ("Everywhere else", [(name, name.replace("_", " ")) for name in others]),
    ]


def _hour_label(hour: int) -> str:
    if hour in (0, 24):
        return f"{hour:02d}:00 (midnight)"
    if hour == 12:
        return "12:00 (noon)"
    return f"{hour:02d}:00 ({hour % 12} {'am' if hour < 12 else 'pm'})"


START_HOUR_CHOICES = [(hour, _hour_label(hour)) for hour in range(24)]
END_HOUR_CHOICES = [(hour, _hour_label(hour)) for hour in range(1, 25)]


def hour_field(*, model_field: Any, label: str, end: bool) -> forms.TypedChoiceField:
    """An hour picker for a model's hour field (declared form fields don't take the model default)."""
    return forms.TypedChoiceField(
        label=label,
        coerce=int,
        choices=END_HOUR_CHOICES if end else START_HOUR_CHOICES,
        initial=model_field.default,
        help_text=model_field.help_text,
    )


def timezone_field(*, model_field: Any, label: str) -> forms.ChoiceField:
    return forms.ChoiceField(
        label=label, choices=timezone_choices, initial=model_field.default, help_text=model_field.help_text
    )
