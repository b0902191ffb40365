"""Back office: people, organizations and their roles.

Only owners and admins reach these pages (supervolunteers see no people and no settings).
An admin manages roles up to their own; only an owner gives or changes the owner role, and an
organization always keeps one owner. Role changes go through `membership_set` and removals through
`membership_remove`, which keep `is_staff` (the key to this back office) equal to holding an
organizer role and refuse to leave an organization without an owner.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode

from accounts import admin_invites, admin_rq, admin_tokens  # noqa: F401 (register invites, API tokens, RQ dashboard)
from accounts.admin_scoping import (
    OrganizationScopedAdmin,
    OrganizerScope,
    ScopedInline,
    acting_user,
    hour_field,
    organizer_scope,
    scoped_related_filter,
    timezone_field,
)
from accounts.forms import ThrottledAdminAuthenticationForm
from accounts.models import ORGANIZER_ROLES, ROLE_RANK, Membership, Organization, Role, User
from accounts.services import (
    ORGANIZATION_SETTINGS,
    OWNER_NEEDED,
    membership_check_owner_remains,
    membership_remove,
    membership_set,
    organization_settings_save,
    owner_staff_sync,
)
from core.errors import ApplicationError

# Roles are the permissions; Django's groups are not used.
admin.site.unregister(Group)


def _role_problem(scope: OrganizerScope, organization_id: int | None, *roles: str | None) -> str | None:
    """Why the user may not give or take these roles in that organization (None when they may)."""
    if scope.is_superuser:
        return None
    mine = scope.role_in(organization_id) if organization_id is not None else None
    if mine is None or ROLE_RANK[mine] < ROLE_RANK[Role.ADMIN]:
        return "Only the organization's owners and admins manage its people."
    for role in roles:
        if role and ROLE_RANK[Role(role)] > ROLE_RANK[mine]:
            return f"Only an owner can give or take the {Role(role).label.lower()} role."
    return None


def _removable(membership: Membership) -> bool:
    """Whether removing the membership leaves its organization an owner."""
    try:
        membership_check_owner_remains(membership=membership, role=None)
    except ApplicationError:
        return False
    return True


def _organizations_for_people(request: HttpRequest) -> QuerySet[Organization]:
    return organizer_scope(request).organizations(Role.ADMIN)


# --- Users --------------------------------------------------------------------------------------


class UserAddForm(auth_forms.BaseUserCreationForm):  # type: ignore[type-arg]
    """Email and password, plus the organization and role the new person joins with."""

    scope: OrganizerScope = OrganizerScope()

    organization = forms.ModelChoiceField(
        queryset=Organization.objects.none(),
        required=False,
        help_text="The person joins this organization with the role below.",
    )
    role = forms.ChoiceField(
        choices=Role.choices,
        initial=Role.TEXTER,
        help_text="Owners, admins and supervolunteers can open this back office; texters use the texter app.",
    )

    class Meta:
        model = User
        fields = ("email", "first_name", "last_name")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        organizations = self.scope.organizations(Role.ADMIN)
        field = self.fields["organization"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = organizations
        if not self.scope.is_superuser:
            field.required = True
            ids = list(organizations.values_list("id", flat=True)[:2])
            if len(ids) == 1:
                field.initial = ids[0]
                field.empty_label = None

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(
                "An account already uses this email. Add it to your organization under Memberships instead."
            )
        return email

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        organization = cleaned.get("organization")
        if organization is not None:
            problem = _role_problem(self.scope, organization.pk, cleaned.get("role"))
            if problem:
                self.add_error("role", problem)
        return cleaned


class UserChangeForm(auth_forms.UserChangeForm):  # type: ignore[type-arg]
    class Meta:
        model = User
        fields = ("email", "password", "first_name", "last_name", "cell", "is_active", "is_superuser")


@admin.register(User)
class UserAdmin(OrganizationScopedAdmin, DjangoUserAdmin):  # type: ignore[type-arg]
    """The people of the user's organizations. Accounts are shared across organizations, so an
    organization's admin edits only names and phone; email, password and activity are the
    superuser's (changing them would take over the person's other organizations too)."""

    view_role = Role.ADMIN
    edit_role = Role.ADMIN
    delete_role = None

    form = UserChangeForm
    add_form = UserAddForm
    list_display = ("email", "full_name", "is_active", "is_staff", "last_login")
    list_filter = (
        ("memberships__organization", scoped_related_filter(_organizations_for_people, title="organization")),
        "is_staff",
        "is_active",
    )
    search_fields = ("email", "first_name", "last_name")
    ordering = ("email",)
    show_full_result_count = False
    add_fieldsets: Any = (
        (
            None,
            {
                "classes": ("wide",),
                "description": "Create an account that logs in with this email and password, "
                "and add it to one of your organizations.",
                "fields": ("email", "first_name", "last_name", "password1", "password2", "organization", "role"),
            },
        ),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        queryset = super(OrganizationScopedAdmin, self).get_queryset(request)
        ids = organizer_scope(request).organization_ids(self.view_role)
        if ids is None:
            return queryset
        return queryset.filter(id__in=Membership.objects.filter(organization_id__in=ids).values("user_id"))

    def _allows(self, request: HttpRequest, role: Role | None, obj: Any) -> bool:
        # An object reaches these checks only through the scoped queryset: any admin role will do.
        return organizer_scope(request).allows(role)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return self.add_fieldsets
        account: tuple[str, ...] = ("email", "is_active", "is_staff")
        if request.user.is_superuser:
            account = ("email", "password", "is_active", "is_superuser", "is_staff")
        return (
            (None, {"fields": ("first_name", "last_name", "cell")}),
            (
                "Account",
                {
                    "fields": account,
                    "description": "“Staff” (back-office access) follows the person's roles: "
                    "it is on while they are an owner, admin or supervolunteer somewhere.",
                },
            ),
            ("Roles", {"fields": (), "description": self._roles_description(request, obj)}),
            ("Activity", {"fields": ("last_login", "date_joined")}),
        )

    def _roles_description(self, request: HttpRequest, obj: User) -> str:
        """The person's roles in the viewer's organizations, each linking to where it is changed."""
        ids = organizer_scope(request).organization_ids(Role.ADMIN)
        memberships = Membership.objects.filter(user=obj).select_related("organization").order_by("organization")
        if ids is not None:
            memberships = memberships.filter(organization_id__in=ids)
        rows = [
            (reverse("admin:accounts_membership_change", args=[m.pk]), m.organization.name, m.get_role_display())
            for m in memberships
        ]
        add_url = reverse("admin:accounts_membership_add") + "?" + urlencode({"email": obj.email})
        listing = format_html_join("", '<li><a href="{}">{}</a>: {}</li>', rows) if rows else "No role yet."
        return format_html('<ul>{}</ul><a href="{}" class="addlink">Add to an organization</a>', listing, add_url)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ()
        if request.user.is_superuser:
            return ("is_staff", "last_login", "date_joined")
        return ("email", "is_active", "is_staff", "last_login", "date_joined")

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        form.scope = organizer_scope(request)  # type: ignore[attr-defined]
        return form

    @admin.display(description="name", ordering="first_name")
    def full_name(self, obj: User) -> str:
        return obj.get_full_name()

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            organization = form.cleaned_data.get("organization") if not change else None
            if organization is not None:
                membership_set(organization=organization, user=obj, role=form.cleaned_data["role"])
            elif "is_superuser" in form.changed_data:
                owner_staff_sync(user=obj)

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = "") -> HttpResponse:
        if not request.user.is_superuser:
            raise PermissionDenied
        return super().user_change_password(request, id, form_url)


# --- Memberships (people in an organization, with their role) ---------------------------------


class MembershipAddForm(forms.ModelForm):  # type: ignore[type-arg]
    """Adds an existing account by its exact email, so no one browses other organizations' people."""

    scope: OrganizerScope = OrganizerScope()

    email = forms.EmailField(help_text="The email the person logs in with. New people: add them under Users.")

    class Meta:
        model = Membership
        fields = ("organization", "role")

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        organization, role = cleaned.get("organization"), cleaned.get("role")
        user = User.objects.filter(email__iexact=(cleaned.get("email") or "").strip()).first()
        if "email" in cleaned and user is None:
            self.add_error("email", "No account uses this email. Create the person under Users instead.")
        if organization is None or user is None:
            return cleaned
        if Membership.objects.filter(user=user, organization=organization).exists():
            self.add_error("email", "This person is already in the organization: change their role on their row.")
        problem = _role_problem(self.scope, organization.pk, role)
        if problem:
            self.add_error("role", problem)
        self.instance.user = user
        return cleaned


class MembershipChangeForm(forms.ModelForm):  # type: ignore[type-arg]
    scope: OrganizerScope = OrganizerScope()

    class Meta:
        model = Membership
        fields = ("role",)

    def clean_role(self) -> str:
        role = self.cleaned_data["role"]
        membership = self.instance
        problem = _role_problem(self.scope, membership.organization_id, membership.role, role)
        if problem:
            raise forms.ValidationError(problem)
        try:
            membership_check_owner_remains(membership=membership, role=role)
        except ApplicationError as error:
            raise forms.ValidationError(error.message) from error
        return role


@admin.register(Membership)
class MembershipAdmin(OrganizationScopedAdmin):
    """Everyone in the user's organizations with their role: texters included (thousands of them)."""

    view_role = Role.ADMIN
    edit_role = Role.ADMIN
    delete_role = Role.ADMIN

    list_display = ("user_email", "user_name", "organization", "role", "created_at")
    list_filter = ("role", ("organization", scoped_related_filter(_organizations_for_people)))
    list_select_related = ("user", "organization")
    search_fields = ("user__email", "user__first_name", "user__last_name")
    ordering = ("organization", "user__email")
    show_full_result_count = False
    actions = ("suspend_selected", "restore_selected")

    @admin.action(
        description="Suspend the selected people (they can no longer text or organize)", permissions=["change"]
    )
    def suspend_selected(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        self._set_roles(request, queryset, Role.SUSPENDED)

    @admin.action(description="Restore the selected suspended people as texters", permissions=["change"])
    def restore_selected(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        self._set_roles(request, queryset.filter(role=Role.SUSPENDED), Role.TEXTER)

    def _set_roles(self, request: HttpRequest, queryset: QuerySet[Membership], role: Role) -> None:
        scope = organizer_scope(request)
        done, refused = 0, []
        for membership in self.restrict_to(request, queryset, Role.ADMIN).select_related("user", "organization"):
            problem = _role_problem(scope, membership.organization_id, membership.role, role)
            if problem is None and membership.user_id == acting_user(request).pk:
                problem = "You can't change your own role."
            try:
                if problem:
                    raise ApplicationError(problem)
                membership_set(organization=membership.organization, user=membership.user, role=role)
            except ApplicationError as error:
                refused.append(f"{membership.user.email}: {error.message}")
                continue
            self.log_change(request, membership, f"Role set to {role.label}")
            done += 1
        verb = "Suspended" if role == Role.SUSPENDED else "Restored"
        messages.success(request, f"{verb} {done} {'person' if done == 1 else 'people'}.")
        for note in refused:
            messages.warning(request, f"Not changed: {note}")

    @admin.display(description="email", ordering="user__email")
    def user_email(self, obj: Membership) -> str:
        return obj.user.email

    @admin.display(description="name", ordering="user__first_name")
    def user_name(self, obj: Membership) -> str:
        return obj.user.get_full_name()

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        kwargs["form"] = MembershipChangeForm if obj is not None else MembershipAddForm
        form = super().get_form(request, obj, change=change, **kwargs)
        form.scope = organizer_scope(request)  # type: ignore[attr-defined]
        return form

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ("email", "organization", "role")
        return ("user", "organization", "role", "created_at")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ("user", "organization", "created_at") if obj is not None else ()

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        initial = super().get_changeform_initial_data(request)
        initial.setdefault("role", Role.TEXTER)
        return initial

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is None:
            return super().has_delete_permission(request, obj)
        scope = organizer_scope(request)
        return _role_problem(scope, obj.organization_id, obj.role) is None and _removable(obj)

    def save_model(self, request: HttpRequest, obj: Membership, form: Any, change: bool) -> None:
        saved = membership_set(organization=obj.organization, user=obj.user, role=obj.role)
        obj.pk = saved.pk
        obj.created_at = saved.created_at
        obj._state.adding = False

    def delete_model(self, request: HttpRequest, obj: Membership) -> None:
        try:
            membership_remove(membership=obj, acting_user=acting_user(request))
        except ApplicationError as error:
            # has_delete_permission already hid the last owner's delete button: only another
            # organizer's change since then leads here.
            raise PermissionDenied(error.message) from error

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        scope = organizer_scope(request)
        for membership in queryset.select_related("user"):
            if _role_problem(scope, membership.organization_id, membership.role):
                continue
            try:
                membership_remove(membership=membership, acting_user=acting_user(request))
            except ApplicationError:
                continue  # the organization's last owner stays


class OrganizerMembershipForm(forms.ModelForm):  # type: ignore[type-arg]
    scope: OrganizerScope = OrganizerScope()

    class Meta:
        model = Membership
        fields = ("user", "role")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            # Moving a role from one person to another is two rows: remove one, add the other.
            self.fields["user"].disabled = True

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        membership = self.instance
        old_role = membership.role if membership.pk is not None else None
        problem = _role_problem(self.scope, membership.organization_id, old_role, cleaned.get("role"))
        if problem:
            raise forms.ValidationError(problem)
        return cleaned


class OrganizerMembershipFormSet(forms.BaseInlineFormSet):  # type: ignore[type-arg]
    """Checks what single rows can't: removals are allowed, and an owner remains after the save."""

    def clean(self) -> None:
        super().clean()
        organization = self.instance
        scope: OrganizerScope = self.form.scope
        owners: set[int | str] = set(
            Membership.objects.filter(organization=organization, role=Role.OWNER).values_list("pk", flat=True)
        )
        for index, form in enumerate(self.forms):
            membership = form.instance
            key = membership.pk if membership.pk is not None else f"new-{index}"
            if form in self.deleted_forms:
                problem = _role_problem(scope, organization.pk, form.initial.get("role"))
                if problem:
                    raise forms.ValidationError(problem)
                owners.discard(key)
            elif form.has_changed() and form.cleaned_data:
                if form.cleaned_data.get("role") == Role.OWNER:
                    owners.add(key)
                else:
                    owners.discard(key)
        if not owners:
            raise forms.ValidationError(OWNER_NEEDED)


class OrganizerMembershipInline(ScopedInline):
    """The organization's owners, admins and supervolunteers (texters are many: see Memberships)."""

    model = Membership
    form = OrganizerMembershipForm
    formset = OrganizerMembershipFormSet
    parent_organization_lookup = ""
    view_role = Role.ADMIN
    edit_role = Role.ADMIN
    fields = ("user", "role", "created_at")
    readonly_fields = ("created_at",)
    autocomplete_fields = ("user",)
    extra = 0
    verbose_name = "organizer"
    verbose_name_plural = "Organizers (owners, admins and supervolunteers)"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Membership]:
        return super().get_queryset(request).filter(role__in=ORGANIZER_ROLES).select_related("user")

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)
        formset.form.scope = organizer_scope(request)  # type: ignore[attr-defined]
        return formset

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "user":
            ids = organizer_scope(request).organization_ids(Role.ADMIN)
            users = User.objects.filter(is_active=True)
            if ids is not None:
                users = users.filter(id__in=Membership.objects.filter(organization_id__in=ids).values("user_id"))
            kwargs["queryset"] = users
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


# --- Organizations ----------------------------------------------------------------------------


class OrganizationForm(forms.ModelForm):  # type: ignore[type-arg]
    """Settings form. Saved Twilio credentials are never sent back to the browser: blank keeps them."""

    texting_hours_start = hour_field(
        model_field=Organization._meta.get_field("texting_hours_start"), label="Texting starts", end=False
    )
    texting_hours_end = hour_field(
        model_field=Organization._meta.get_field("texting_hours_end"), label="Texting ends", end=True
    )
    default_timezone = timezone_field(
        model_field=Organization._meta.get_field("default_timezone"), label="Default timezone"
    )
    twilio_account_sid = forms.CharField(
        label="Twilio account SID",
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Leave blank to keep what is saved. Empty everywhere: the server's account is used.",
    )
    twilio_auth_token = forms.CharField(
        label="Twilio auth token",
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Leave blank to keep what is saved.",
    )
    clear_twilio_credentials = forms.BooleanField(
        label="Remove the saved Twilio credentials",
        required=False,
        help_text="Texts then go through the server's account.",
    )

    class Meta:
        model = Organization
        fields = ORGANIZATION_SETTINGS

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        start, end = cleaned.get("texting_hours_start"), cleaned.get("texting_hours_end")
        if start is not None and end is not None and start >= end:
            self.add_error("texting_hours_end", "Texting must end after it starts.")
        for name in ("twilio_account_sid", "twilio_auth_token"):
            if cleaned.get("clear_twilio_credentials"):
                cleaned[name] = ""
            elif not cleaned.get(name):
                cleaned[name] = getattr(self.instance, name)
        return cleaned


@admin.register(Organization)
class OrganizationAdmin(OrganizationScopedAdmin):
    """Organization settings: owners and admins only. Only a superuser creates or deletes one."""

    organization_lookup = ""
    view_role = Role.ADMIN
    edit_role = Role.ADMIN

    form = OrganizationForm
    inlines = (OrganizerMembershipInline,)
    list_display = ("name", "texting_hours", "default_timezone", "people", "created_at")
    search_fields = ("name",)
    readonly_fields = ("twilio_credentials", "created_at")
    fieldsets = (
        (None, {"fields": ("name", "created_at")}),
        (
            "Texting hours",
            {
                "description": "When texters may send, in each contact's own timezone (from their zip code, "
                "else their phone number, else the default timezone). Campaigns may override these hours.",
                "fields": ("texting_hours_enforced", ("texting_hours_start", "texting_hours_end"), "default_timezone"),
            },
        ),
        (
            "Opt-outs",
            {
                "description": "Texters may send this message when they opt a contact out. Nothing is sent "
                "after a carrier keyword like STOP: the carrier has already replied.",
                "fields": ("opt_out_message",),
            },
        ),
        (
            "Sending (Twilio)",
            {
                "description": "Leave these empty to send through the server's Twilio account and messaging "
                "service. Saved credentials are never shown again.",
                "fields": (
                    "messaging_service_sid",
                    "send_rate_per_second",
                    "twilio_credentials",
                    "twilio_account_sid",
                    "twilio_auth_token",
                    "clear_twilio_credentials",
                ),
            },
        ),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Organization]:
        return super().get_queryset(request).annotate(people_count=Count("memberships"))

    @admin.display(description="people", ordering="people_count")
    def people(self, obj: Organization) -> int:
        return getattr(obj, "people_count", 0)

    @admin.display(description="texting hours")
    def texting_hours(self, obj: Organization) -> str:
        if not obj.texting_hours_enforced:
            return "any time"
        return f"{obj.texting_hours_start}:00–{obj.texting_hours_end}:00"

    @admin.display(description="Twilio credentials")
    def twilio_credentials(self, obj: Organization) -> str:
        if obj.twilio_account_sid and obj.twilio_auth_token:
            return "Saved for this organization."
        return "None saved: the server's account is used."

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser

    def save_model(self, request: HttpRequest, obj: Organization, form: Any, change: bool) -> None:
        values = {name: form.cleaned_data[name] for name in OrganizationForm.Meta.fields}
        organization_settings_save(organization=obj, values=values, acting_user=acting_user(request))

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not Membership:
            super().save_formset(request, form, formset, change)
            return
        with transaction.atomic():
            memberships = formset.save(commit=False)
            # The formset checked that an owner remains once every row is saved. New owners go
            # first, then other roles, then removals, so no step on the way leaves none (the
            # services refuse that).
            memberships.sort(key=lambda membership: membership.role != Role.OWNER)
            for membership in memberships:
                membership_set(organization=form.instance, user=membership.user, role=membership.role)
            for membership in formset.deleted_objects:
                membership_remove(membership=membership, acting_user=acting_user(request))


# The back office's login page counts failed attempts like the texter app's (accounts/throttling.py).
admin.site.login_form = ThrottledAdminAuthenticationForm
