"""Back office: campaigns, their list and their change form (settings, script, canned responses).

Roles: supervolunteers see campaigns, results and opt-outs and reassign texters; admins and owners
edit, upload, start and archive. The campaign's other pages (upload, assign, start, archive,
results) are in pages.py. The contact and message pages live in `texting/admin.py`, which also
adds message counts to this campaign admin (campaigns never import texting).
"""

from __future__ import annotations

from typing import Any

import nh3
from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import SimpleListFilter
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import OuterRef, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils.html import format_html

from accounts.admin_scoping import (
    ScopedInline,
    acting_user,
    hour_field,
    organizer_scope,
    scoped_related_filter,
    timezone_field,
)
from accounts.models import Organization, Role
from campaigns.admin.lookups import organizations_viewable
from campaigns.admin.pages import CampaignPagesAdmin
from campaigns.models import CAMPAIGN_SETTINGS_FIELDS, Campaign, CannedResponse, Contact, ContactStatus, InteractionStep
from campaigns.scripts import TOP_LEVEL_FIELDS, unknown_fields
from campaigns.selectors import (
    campaign_custom_field_keys,
    contact_counts_for_campaign,
    interaction_step_root,
    interaction_steps_in_tree_order,
)
from campaigns.services import (
    ScriptChange,
    campaign_archive,
    campaign_copy,
    campaign_start_problems,
    first_message_warnings,
    script_find_replace,
    script_set_first_message,
)
from core.errors import ApplicationError
from core.queries import count_subquery


def step_label(step: InteractionStep, path: list[str]) -> str:
    question = f"Q: {step.question}" if step.question else "(no question after this answer)"
    if not path:
        return question
    return f"after answer {' → '.join(path)} → {question}"


def _join_url(campaign: Campaign) -> str | None:
    try:
        return settings.PUBLIC_BASE_URL + reverse("texter:join", args=[campaign.join_token])
    except NoReverseMatch:
        return None


# --- Forms, inlines and filters ---------------------------------------------------------------


class FieldListField(forms.CharField):
    """A list of custom field names typed as "zip, precinct"; empty means None (every field)."""

    def prepare_value(self, value: Any) -> Any:
        return ", ".join(value) if isinstance(value, list) else (value or "")

    def to_python(self, value: Any) -> list[str] | None:  # type: ignore[override]
        names = [name.strip() for name in str(super().to_python(value) or "").split(",")]
        return [name for name in dict.fromkeys(names) if name] or None


class CampaignForm(forms.ModelForm):  # type: ignore[type-arg]
    """The campaign's settings, plus its first message and first question (the script's root)."""

    first_message = forms.CharField(
        label="First message",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
        help_text="Sent by each texter, with a click each, to every contact. Use fields like {firstName}.",
    )
    first_question = forms.CharField(
        label="First question",
        required=False,
        max_length=500,
        widget=forms.TextInput(attrs={"class": "spoke-input-wide"}),
        help_text="What the first message asks, like “Can we count on your vote?”. Its answers are below.",
    )
    logo_image_url = forms.URLField(
        label="Logo image URL", required=False, assume_scheme="https", help_text="Shown to texters with the campaign."
    )
    texting_hours_start = hour_field(
        model_field=Campaign._meta.get_field("texting_hours_start"), label="Texting starts", end=False
    )
    texting_hours_end = hour_field(
        model_field=Campaign._meta.get_field("texting_hours_end"), label="Texting ends", end=True
    )
    timezone = timezone_field(model_field=Campaign._meta.get_field("timezone"), label="Timezone")
    texter_visible_fields = FieldListField(
        required=False,
        label="Fields texters see",
        help_text="Custom fields shown in the texter's contact panel, separated by commas, like "
        "“zip, precinct”. Empty: every custom field of the uploaded list.",
    )

    class Meta:
        model = Campaign
        fields = (
            "organization",
            "title",
            *CAMPAIGN_SETTINGS_FIELDS,
        )
        widgets = {
            "description": forms.Textarea(attrs={"rows": 2, "cols": 80}),
            "intro_html": forms.Textarea(attrs={"rows": 4, "cols": 80}),
            "primary_color": forms.TextInput(attrs={"type": "color"}),
            "due_by": forms.DateInput(attrs={"type": "date"}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            root = interaction_step_root(campaign=self.instance)
            if root is not None:
                self.fields["first_message"].initial = root.script
                self.fields["first_question"].initial = root.question

    def clean_intro_html(self) -> str:
        # Texters' pages show it as HTML: keep formatting and links, drop scripts and handlers.
        return nh3.clean(self.cleaned_data.get("intro_html") or "", link_rel="noopener noreferrer nofollow")

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        start, end = cleaned.get("texting_hours_start"), cleaned.get("texting_hours_end")
        if cleaned.get("override_org_texting_hours") and start is not None and end is not None and start >= end:
            self.add_error("texting_hours_end", "Texting must end after it starts.")
        return cleaned


class AnswerFormSet(forms.BaseInlineFormSet):  # type: ignore[type-arg]
    def clean(self) -> None:
        super().clean()
        parents: dict[int, int | None] = dict(
            InteractionStep.objects.filter(campaign=self.instance).values_list("id", "parent_id")
            if self.instance.pk
            else []
        )
        for form in self.forms:
            step = form.instance
            if step.pk is None or form in self.deleted_forms or not form.cleaned_data:
                continue
            parent = form.cleaned_data.get("parent")
            parents[step.pk] = parent.pk if parent else None
        for form in self.forms:
            step = form.instance
            if step.pk is None or form in self.deleted_forms:
                continue
            seen, node = {step.pk}, parents.get(step.pk)
            while node is not None:
                if node in seen:
                    raise forms.ValidationError(
                        f"“{step.answer_option}” would come after itself: choose a question above it as its parent."
                    )
                seen.add(node)
                node = parents.get(node)


class AnswerForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = InteractionStep
        fields = ("parent", "answer_option", "script", "question", "position")
        widgets = {
            "answer_option": forms.TextInput(attrs={"size": 12, "placeholder": "Yes"}),
            "script": forms.Textarea(attrs={"rows": 2, "cols": 28, "placeholder": "What the texter sends"}),
            "question": forms.TextInput(attrs={"size": 20, "placeholder": "Next question (optional)"}),
            "position": forms.NumberInput(attrs={"class": "spoke-input-narrow"}),
        }


class InteractionStepInline(ScopedInline):
    """The answers of the script: each follows a question, says what to send, and may ask the next."""

    model = InteractionStep
    form = AnswerForm
    formset = AnswerFormSet
    fields = ("parent", "answer_option", "script", "question", "position")
    extra = 1
    verbose_name = "answer"
    verbose_name_plural = "Answers (what texters send for each answer, and the next question)"

    def get_queryset(self, request: HttpRequest) -> QuerySet[InteractionStep]:
        return super().get_queryset(request).filter(parent__isnull=False).order_by("parent_id", "position", "id")

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name != "parent":
            return super().formfield_for_foreignkey(db_field, request, **kwargs)
        match = request.resolver_match
        campaign_id = match.kwargs.get("object_id") if match else None
        steps = (
            InteractionStep.objects.filter(campaign_id=campaign_id) if campaign_id else InteractionStep.objects.none()
        )
        field = super().formfield_for_foreignkey(db_field, request, queryset=steps, **kwargs)
        assert field is not None
        field.required = True
        field.label = "After the question"
        # Fixed choices: each inline row would otherwise query the steps again.
        field.choices = [("", "Choose the question this answers")] + [
            (step.pk, step_label(step, path)) for step, path in interaction_steps_in_tree_order(steps=list(steps))
        ]
        return field


class CannedResponseInline(ScopedInline):
    model = CannedResponse
    fields = ("title", "text", "position")
    extra = 0
    verbose_name_plural = "Canned responses (ready-made replies texters can pick)"
    formfield_overrides = {models.TextField: {"widget": forms.Textarea(attrs={"rows": 2, "cols": 60})}}

    def get_queryset(self, request: HttpRequest) -> QuerySet[CannedResponse]:
        return super().get_queryset(request).filter(user__isnull=True)


class FindReplaceForm(forms.Form):
    organization = forms.ModelChoiceField(queryset=Organization.objects.none())
    find = forms.CharField(max_length=500, strip=False, help_text="Exact text, capitals included.")
    replace = forms.CharField(max_length=500, required=False, strip=False, label="Replace with")
    include_archived = forms.BooleanField(required=False, label="Archived campaigns too")

    def __init__(self, *args: Any, request: HttpRequest, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["organization"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = organizer_scope(request).organizations(Role.ADMIN)
        ids = list(field.queryset.values_list("id", flat=True)[:2])
        if len(ids) == 1:
            field.initial = ids[0]


class CampaignStatusFilter(SimpleListFilter):
    title = "status"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("active", "Not archived"),
            ("draft", "Draft (not started)"),
            ("started", "Started"),
            ("archived", "Archived"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> QuerySet[Campaign]:
        value = self.value()
        if value == "active":
            return queryset.filter(is_archived=False)
        if value == "draft":
            return queryset.filter(is_started=False, is_archived=False)
        if value == "started":
            return queryset.filter(is_started=True, is_archived=False)
        if value == "archived":
            return queryset.filter(is_archived=True)
        return queryset


# --- Campaigns --------------------------------------------------------------------------------


class CampaignAdmin(CampaignPagesAdmin):
    """The campaign list and change form; the campaign's other pages come from `CampaignPagesAdmin`."""

    form = CampaignForm
    inlines = (InteractionStepInline, CannedResponseInline)
    list_display: tuple[str, ...] = ("title", "organization", "status", "due_by", "contacts_count", "needs_response")
    list_display_links = ("title",)
    list_filter = (CampaignStatusFilter, ("organization", scoped_related_filter(organizations_viewable)))
    list_select_related = ("organization",)
    search_fields = ("title", "description")
    actions = ("archive_selected", "unarchive_selected", "copy_selected")
    readonly_fields = ("join_link", "progress", "is_started", "started_at", "is_archived")
    save_on_top = True

    # --- changelist

    def get_queryset(self, request: HttpRequest) -> QuerySet[Campaign]:
        contacts = Contact.objects.filter(campaign=OuterRef("pk"))
        waiting = Contact.objects.filter(campaign=OuterRef("pk")).needs_response()
        return (
            super()
            .get_queryset(request)
            .annotate(
                contacts_total=count_subquery(contacts, group_by="campaign"),
                needs_response_total=count_subquery(waiting, group_by="campaign"),
            )
        )

    @admin.display(description="status", ordering="is_started")
    def status(self, obj: Campaign) -> str:
        if obj.is_archived:
            label, css = "Archived", "archived"
        elif obj.is_started:
            label, css = "Started", "started"
        else:
            label, css = "Draft", "draft"
        return format_html('<span class="spoke-status spoke-status-{}">{}</span>', css, label)

    @admin.display(description="contacts")
    def contacts_count(self, obj: Campaign) -> int:
        return getattr(obj, "contacts_total", 0)

    @admin.display(description="needs response")
    def needs_response(self, obj: Campaign) -> str:
        count = getattr(obj, "needs_response_total", 0)
        if not count:
            return "0"
        try:
            review = reverse("admin:campaigns_contact_changelist")
        except NoReverseMatch:
            return str(count)
        return format_html(
            '<a href="{}?campaign__id__exact={}&amp;status__exact=needs_response">{}</a>', review, obj.pk, count
        )

    @admin.action(description="Archive the selected campaigns", permissions=["change"])
    def archive_selected(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        self._archive_many(request, queryset, archived=True)

    @admin.action(description="Unarchive the selected campaigns", permissions=["change"])
    def unarchive_selected(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        self._archive_many(request, queryset, archived=False)

    @admin.action(description="Copy the selected campaigns (script, canned responses, settings)", permissions=["add"])
    def copy_selected(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        copies = []
        for campaign in self.restrict_to(request, queryset, self.edit_role):
            copy = campaign_copy(campaign=campaign, acting_user=acting_user(request))
            self.log_addition(request, copy, f"Copied from campaign {campaign.pk}")
            copies.append(copy.title)
        messages.success(request, f"Made {len(copies)} cop{'y' if len(copies) == 1 else 'ies'}: {', '.join(copies)}.")

    def _archive_many(self, request: HttpRequest, queryset: QuerySet[Campaign], *, archived: bool) -> None:
        done = 0
        for campaign in self.restrict_to(request, queryset, self.edit_role):
            campaign_archive(campaign=campaign, archived=archived)
            self.log_change(request, campaign, "Archived" if archived else "Unarchived")
            done += 1
        verb = "Archived" if archived else "Unarchived"
        messages.success(request, f"{verb} {done} campaign{'' if done == 1 else 's'}.")

    # --- bulk find and replace across campaigns

    def get_urls(self) -> list[Any]:
        name = f"{self.opts.app_label}_{self.opts.model_name}_find_replace"
        return [
            path("find-replace/", self.admin_site.admin_view(self.find_replace_view), name=name),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        extra = {"find_replace_url": self.admin_url("find_replace")} if self.has_add_permission(request) else {}
        return super().changelist_view(request, {**(extra_context or {}), **extra})

    def find_replace_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = FindReplaceForm(request.POST or None, request=request)
        changes: list[ScriptChange] | None = None
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            apply = "apply" in request.POST
            try:
                changes = script_find_replace(
                    organization_id=data["organization"].pk,
                    find=data["find"],
                    replace=data["replace"],
                    include_archived=data["include_archived"],
                    apply=apply,
                )
            except ApplicationError as error:
                messages.error(request, error.message)
            else:
                if apply:
                    for campaign in {change.campaign for change in changes}:
                        self.log_change(request, campaign, f"Replaced “{data['find']}” with “{data['replace']}”")
                    messages.success(request, f"Replaced the text in {len(changes)} scripts and canned responses.")
                    return redirect(self.admin_url("changelist"))
        return TemplateResponse(
            request,
            "admin/campaigns/campaign/find_replace.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": "Find and replace in scripts",
                "form": form,
                "changes": changes,
            },
        )

    # --- change form

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fields_note = "Fields you can use: " + " ".join(
            f"{{{name}}}" for name in [*TOP_LEVEL_FIELDS, *(campaign_custom_field_keys(campaign=obj) if obj else [])]
        )
        if obj is None:
            fields_note += ", and the columns of the contact list you upload"
        fieldsets: list[tuple[str | None, dict[str, Any]]] = [
            (
                None,
                {
                    "fields": (
                        "organization",
                        "title",
                        "description",
                        "due_by",
                        "intro_html",
                        ("logo_image_url", "primary_color"),
                        "texters_can_edit_first_message",
                        "texter_visible_fields",
                    )
                },
            ),
            (
                "Script: first message and first question",
                {
                    "description": fields_note
                    + ". Save the campaign, then add answers below: each answer says what to text back "
                    "and may ask the next question.",
                    "fields": ("first_message", "first_question"),
                },
            ),
            (
                "Texting hours",
                {
                    "description": "Off: the organization's texting hours apply. Hours are in each contact's "
                    "own timezone, from their zip code or else their phone number.",
                    "fields": (
                        "override_org_texting_hours",
                        "texting_hours_enforced",
                        ("texting_hours_start", "texting_hours_end"),
                        "timezone",
                    ),
                },
            ),
            (
                "Dynamic assignment",
                {
                    "description": "On: texters take batches of contacts themselves (by the join link) instead "
                    "of an organizer assigning them.",
                    "fields": ("use_dynamic_assignment", "batch_size", "max_contacts_per_texter"),
                },
            ),
            (
                "Replies and sending",
                {
                    "description": "How long after the last message a reply still counts as this campaign's, "
                    "and the Twilio messaging service (empty: the organization's).",
                    "fields": ("response_window_hours", "messaging_service_sid"),
                },
            ),
        ]
        if obj is not None:
            fieldsets.append(
                ("Status", {"fields": ("progress", "join_link", ("is_started", "started_at"), "is_archived")})
            )
        return fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            # Moving a campaign would move its contacts and opt-outs out of their organization.
            readonly.append("organization")
        return readonly

    def get_inlines(self, request: HttpRequest, obj: Any) -> Any:
        # Answers need the first question saved to hang from.
        return self.inlines if obj is not None else (CannedResponseInline,)

    @admin.display(description="First message")
    def first_message(self, obj: Campaign) -> str:
        root = interaction_step_root(campaign=obj)
        return root.script if root else ""

    @admin.display(description="First question")
    def first_question(self, obj: Campaign) -> str:
        root = interaction_step_root(campaign=obj)
        return root.question if root else ""

    @admin.display(description="join link")
    def join_link(self, obj: Campaign) -> str:
        url = _join_url(obj)
        if url is None:
            return format_html("<code>{}</code> (join token)", obj.join_token)
        return format_html('<a href="{0}">{0}</a><br>Texters who open it join this campaign.', url)

    @admin.display(description="contacts")
    def progress(self, obj: Campaign) -> str:
        counts = contact_counts_for_campaign(campaign=obj)
        parts = [f"{counts.total} contacts", f"{counts.unassigned} unassigned"]
        parts += [f"{counts.by_status[s.value]} {s.label.lower()}" for s in ContactStatus if counts.by_status[s.value]]
        parts.append(f"{counts.opted_out} opted out")
        return " · ".join(parts)

    def save_model(self, request: HttpRequest, obj: Campaign, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if not change or {"first_message", "first_question"} & set(form.changed_data):
            script_set_first_message(
                campaign=obj,
                script=form.cleaned_data.get("first_message", ""),
                question=form.cleaned_data.get("first_question", ""),
            )
            for warning in first_message_warnings(
                script=form.cleaned_data.get("first_message", ""), organization_name=obj.organization.name
            ):
                messages.warning(request, warning)
            known = {*TOP_LEVEL_FIELDS, *campaign_custom_field_keys(campaign=obj)}
            unknown = unknown_fields(form.cleaned_data.get("first_message", ""), known)
            if unknown:
                messages.warning(
                    request,
                    "The first message uses fields no contact has yet: "
                    + ", ".join(f"{{{name}}}" for name in unknown)
                    + ". Check the spelling, or upload a contact list with those columns.",
                )

    def change_form_context(self, request: HttpRequest, obj: Any) -> dict[str, Any]:
        can_edit = organizer_scope(request).allows(self.edit_role, obj.organization_id)
        return {
            "campaign_urls": self._campaign_urls(obj),
            "can_edit_campaign": can_edit,
            "start_problems": campaign_start_problems(campaign=obj) if not obj.is_started and can_edit else [],
        }
