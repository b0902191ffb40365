"""Back office: campaigns (script, contacts upload, texters, start, results), tags and opt-outs.

Roles: supervolunteers see campaigns, results and opt-outs and reassign texters; admins and owners
edit, upload, start and archive. The contact and message pages live in `texting/admin.py`,
which also adds message counts to this campaign admin (campaigns never import texting).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import SimpleListFilter, helpers
from django.db import models, transaction
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from accounts.admin_scoping import (
    OrganizationScopedAdmin,
    ReadOnlyScopedAdmin,
    ScopedInline,
    acting_user,
    hour_field,
    organizer_scope,
    scoped_related_filter,
    timezone_field,
)
from accounts.models import Organization, Role, User
from accounts.selectors import texters_for_organization
from campaigns.importing import FIELD_ALIASES, contacts_import_start
from campaigns.models import (
    Assignment,
    Campaign,
    CannedResponse,
    Contact,
    ContactStatus,
    ImportJob,
    InteractionStep,
    JobStatus,
    OptOut,
    OptOutEvent,
    OptOutSource,
    QuestionResponse,
    Tag,
)
from campaigns.phones import normalize_cell
from campaigns.scripts import TOP_LEVEL_FIELDS, unknown_fields
from campaigns.services import (
    assignment_unassign,
    campaign_archive,
    campaign_start,
    campaign_start_problems,
    contacts_assign,
    contacts_split_evenly,
    optout_create,
    optout_remove,
    script_set_first_message,
)
from core.errors import ApplicationError


def _organizations_viewable(request: HttpRequest) -> QuerySet[Organization]:
    return organizer_scope(request).organizations(Role.SUPERVOLUNTEER)


def campaigns_viewable(request: HttpRequest) -> QuerySet[Campaign]:
    """Campaigns of the user's organizations, for list filters (texting's pages use it too)."""
    ids = organizer_scope(request).organization_ids(Role.SUPERVOLUNTEER)
    queryset = Campaign.objects.order_by("-id")
    return queryset if ids is None else queryset.filter(organization_id__in=ids)


def cell_search_term(term: str) -> str | None:
    """A search box entry that is a phone number, in E.164, so the search can use the cell index."""
    if sum(ch.isdigit() for ch in term) < 10:
        return None
    return normalize_cell(term)


# --- Read helpers (pure reads for the pages below) ---------------------------------------------


def _custom_field_keys(campaign: Campaign) -> list[str]:
    """Custom field names of the campaign's contacts. Every contact of one upload has the same
    keys, so the first and last contact tell them without reading a million rows."""
    cached: list[str] | None = getattr(campaign, "_custom_field_keys", None)
    if cached is not None:
        return cached
    contacts = Contact.objects.filter(campaign=campaign).values_list("custom_fields", flat=True)
    keys: set[str] = set()
    for fields in [*contacts.order_by("id")[:1], *contacts.order_by("-id")[:1]]:
        keys.update(str(key) for key in (fields or {}))
    campaign._custom_field_keys = sorted(keys)  # type: ignore[attr-defined]
    return campaign._custom_field_keys  # type: ignore[attr-defined]


def _tree_order(steps: list[InteractionStep]) -> list[tuple[InteractionStep, list[str]]]:
    """Steps depth first from the root, each with the answers that lead to it."""
    children: dict[int | None, list[InteractionStep]] = defaultdict(list)
    for step in steps:
        children[step.parent_id].append(step)
    ordered: list[tuple[InteractionStep, list[str]]] = []

    def visit(step: InteractionStep, path: list[str]) -> None:
        ordered.append((step, path))
        for child in children.get(step.pk, []):
            visit(child, [*path, child.answer_option or "(unlabelled answer)"])

    for root in children.get(None, []):
        visit(root, [])
    # Steps cut off from the root (a broken tree) are still listed, at the end.
    seen = {step.pk for step, _ in ordered}
    ordered.extend((step, [step.answer_option]) for step in steps if step.pk not in seen)
    return ordered


def step_label(step: InteractionStep, path: list[str]) -> str:
    question = f"Q: {step.question}" if step.question else "(no question after this answer)"
    if not path:
        return question
    return f"after answer {' → '.join(path)} → {question}"


@dataclass(frozen=True)
class StatusCounts:
    by_status: dict[str, int]
    total: int
    opted_out: int
    unassigned: int


def _status_counts(campaign: Campaign) -> StatusCounts:
    rows = (
        Contact.objects.filter(campaign=campaign)
        .order_by()
        .values("status")
        .annotate(
            n=Count("id"),
            opted_out=Count("id", filter=Q(is_opted_out=True)),
            unassigned=Count("id", filter=Q(assignment__isnull=True)),
        )
    )
    by_status = dict.fromkeys(ContactStatus.values, 0)
    opted_out = unassigned = 0
    for row in rows:
        by_status[row["status"]] = row["n"]
        opted_out += row["opted_out"]
        unassigned += row["unassigned"]
    return StatusCounts(by_status=by_status, total=sum(by_status.values()), opted_out=opted_out, unassigned=unassigned)


@dataclass(frozen=True)
class AnswerCount:
    label: str
    count: int
    percent: int


@dataclass(frozen=True)
class QuestionResult:
    question: str
    asked_after: str
    answers: list[AnswerCount]
    total: int


def _survey_results(campaign: Campaign) -> list[QuestionResult]:
    """Each question of the script with how many contacts gave each answer (two statements)."""
    steps = list(InteractionStep.objects.filter(campaign=campaign))
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for row in (
        QuestionResponse.objects.filter(interaction_step__campaign=campaign)
        .order_by()
        .values("interaction_step_id", "value")
        .annotate(n=Count("id"))
    ):
        counts[row["interaction_step_id"]][row["value"]] = row["n"]
    children: dict[int | None, list[InteractionStep]] = defaultdict(list)
    for step in steps:
        children[step.parent_id].append(step)
    results = []
    for step, answers_before in _tree_order(steps):
        if not step.question:
            continue
        given = dict(counts.get(step.pk, {}))
        labels = [child.answer_option for child in children.get(step.pk, [])]
        # Answers recorded under a label that was since renamed or removed still count.
        labels += sorted(value for value in given if value not in labels)
        total = sum(given.values())
        answers = [
            AnswerCount(label, given.get(label, 0), round(100 * given.get(label, 0) / total) if total else 0)
            for label in labels
        ]
        results.append(
            QuestionResult(
                question=step.question,
                asked_after=" → ".join(answers_before) if answers_before else "first message",
                answers=answers,
                total=total,
            )
        )
    return results


@dataclass(frozen=True)
class TexterRow:
    texter: User
    assignment_id: int | None
    assigned: int
    to_send: int
    needs_response: int
    is_member: bool


def _texter_rows(campaign: Campaign) -> list[TexterRow]:
    """The organization's texters with their counts in this campaign (four statements in all)."""
    texters = list(texters_for_organization(organization=campaign.organization))
    assignments = {a.texter_id: a.pk for a in Assignment.objects.filter(campaign=campaign)}
    members = {texter.pk for texter in texters}
    former = [pk for pk in assignments if pk not in members]
    if former:
        # Someone removed from the organization keeps their assignment until it is taken back.
        texters += list(User.objects.filter(pk__in=former).order_by("first_name", "last_name", "email"))
    counts = {
        row["assignment_id"]: row
        for row in Contact.objects.filter(campaign=campaign, assignment__isnull=False)
        .order_by()
        .values("assignment_id")
        .annotate(
            assigned=Count("id"),
            to_send=Count("id", filter=Q(status=ContactStatus.NEEDS_MESSAGE, is_opted_out=False)),
            needs_response=Count("id", filter=Q(status=ContactStatus.NEEDS_RESPONSE, is_opted_out=False)),
        )
    }
    rows = []
    for texter in texters:
        assignment_id = assignments.get(texter.pk)
        row = counts.get(assignment_id, {})
        rows.append(
            TexterRow(
                texter=texter,
                assignment_id=assignment_id,
                assigned=row.get("assigned", 0),
                to_send=row.get("to_send", 0),
                needs_response=row.get("needs_response", 0),
                is_member=texter.pk in members,
            )
        )
    return rows


def _unassigned_ready(campaign: Campaign) -> int:
    return Contact.objects.filter(campaign=campaign, assignment__isnull=True).needs_message().count()


def _join_url(campaign: Campaign) -> str | None:
    try:
        return settings.PUBLIC_BASE_URL + reverse("texter:join", args=[campaign.join_token])
    except NoReverseMatch:
        return None


# --- Campaign forms and inlines ----------------------------------------------------------------


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
        widget=forms.TextInput(attrs={"style": "width: 35em; max-width: 100%"}),
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

    class Meta:
        model = Campaign
        fields = (
            "organization",
            "title",
            "description",
            "due_by",
            "intro_html",
            "logo_image_url",
            "primary_color",
            "texters_can_edit_first_message",
            "override_org_texting_hours",
            "texting_hours_enforced",
            "texting_hours_start",
            "texting_hours_end",
            "timezone",
            "use_dynamic_assignment",
            "batch_size",
            "max_contacts_per_texter",
            "response_window_hours",
            "messaging_service_sid",
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
            root = InteractionStep.objects.filter(campaign=self.instance, parent__isnull=True).first()
            if root is not None:
                self.fields["first_message"].initial = root.script
                self.fields["first_question"].initial = root.question

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
            "position": forms.NumberInput(attrs={"style": "width: 4em"}),
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
            (step.pk, step_label(step, path)) for step, path in _tree_order(list(steps))
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


class ContactUploadForm(forms.Form):
    file = forms.FileField(
        label="Contact list (CSV)", widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"})
    )


class AssignTextersForm(forms.Form):
    """One "contacts to add" box per texter, and the texters to split the unassigned contacts between."""

    def __init__(self, *args: Any, rows: list[TexterRow], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rows = rows
        # People no longer in the organization can only have their unsent contacts taken back.
        for row in rows:
            if row.is_member:
                self.fields[f"count_{row.texter.pk}"] = forms.IntegerField(
                    min_value=0, required=False, label=f"Contacts to add for {row.texter}"
                )
        self.fields["split"] = forms.TypedMultipleChoiceField(
            coerce=int, required=False, choices=[(row.texter.pk, str(row.texter)) for row in rows if row.is_member]
        )

    def counts(self) -> list[tuple[User, int]]:
        wanted = [(row.texter, self.cleaned_data.get(f"count_{row.texter.pk}")) for row in self.rows]
        return [(texter, count) for texter, count in wanted if count]

    def split_texters(self) -> list[User]:
        chosen = set(self.cleaned_data.get("split") or [])
        return [row.texter for row in self.rows if row.texter.pk in chosen]

    def bound_rows(self) -> list[tuple[TexterRow, forms.BoundField | None]]:
        return [(row, self[f"count_{row.texter.pk}"] if row.is_member else None) for row in self.rows]


# --- Campaigns --------------------------------------------------------------------------------


@admin.register(Campaign)
class CampaignAdmin(OrganizationScopedAdmin):
    form = CampaignForm
    inlines = (InteractionStepInline, CannedResponseInline)
    list_display: tuple[str, ...] = ("title", "organization", "status", "due_by", "contacts_count")
    list_display_links = ("title",)
    list_filter = (CampaignStatusFilter, ("organization", scoped_related_filter(_organizations_viewable)))
    list_select_related = ("organization",)
    search_fields = ("title",)
    actions = ("archive_selected", "unarchive_selected")
    readonly_fields = ("join_link", "progress", "is_started", "started_at", "is_archived")
    save_on_top = True

    # --- changelist

    def get_queryset(self, request: HttpRequest) -> QuerySet[Campaign]:
        contacts = (
            Contact.objects.filter(campaign=OuterRef("pk"))
            .order_by()
            .values("campaign")
            .annotate(n=Count("id"))
            .values("n")
        )
        return (
            super()
            .get_queryset(request)
            .annotate(contacts_total=Coalesce(Subquery(contacts, output_field=IntegerField()), 0))
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

    @admin.action(description="Archive the selected campaigns", permissions=["change"])
    def archive_selected(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        self._archive_many(request, queryset, archived=True)

    @admin.action(description="Unarchive the selected campaigns", permissions=["change"])
    def unarchive_selected(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        self._archive_many(request, queryset, archived=False)

    def _archive_many(self, request: HttpRequest, queryset: QuerySet[Campaign], *, archived: bool) -> None:
        done = 0
        for campaign in self.restrict_to(request, queryset, self.edit_role):
            campaign_archive(campaign=campaign, archived=archived)
            self.log_change(request, campaign, "Archived" if archived else "Unarchived")
            done += 1
        verb = "Archived" if archived else "Unarchived"
        messages.success(request, f"{verb} {done} campaign{'' if done == 1 else 's'}.")

    # --- change form

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fields_note = "Fields you can use: " + " ".join(
            f"{{{name}}}" for name in [*TOP_LEVEL_FIELDS, *(_custom_field_keys(obj) if obj else [])]
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
        root = InteractionStep.objects.filter(campaign=obj, parent__isnull=True).first()
        return root.script if root else ""

    @admin.display(description="First question")
    def first_question(self, obj: Campaign) -> str:
        root = InteractionStep.objects.filter(campaign=obj, parent__isnull=True).first()
        return root.question if root else ""

    @admin.display(description="join link")
    def join_link(self, obj: Campaign) -> str:
        url = _join_url(obj)
        if url is None:
            return format_html("<code>{}</code> (join token)", obj.join_token)
        return format_html('<a href="{0}">{0}</a><br>Texters who open it join this campaign.', url)

    @admin.display(description="contacts")
    def progress(self, obj: Campaign) -> str:
        counts = _status_counts(obj)
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
            known = {*TOP_LEVEL_FIELDS, *_custom_field_keys(obj)}
            unknown = unknown_fields(form.cleaned_data.get("first_message", ""), known)
            if unknown:
                messages.warning(
                    request,
                    "The first message uses fields no contact has yet: "
                    + ", ".join(f"{{{name}}}" for name in unknown)
                    + ". Check the spelling, or upload a contact list with those columns.",
                )

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
            scope = organizer_scope(request)
            can_edit = scope.allows(self.edit_role, obj.organization_id)
            context.update(
                campaign_urls=self._campaign_urls(obj),
                can_edit_campaign=can_edit,
                start_problems=campaign_start_problems(campaign=obj) if not obj.is_started and can_edit else [],
            )
        return super().render_change_form(request, context, add, change, form_url, obj)

    # --- custom pages

    def get_urls(self) -> list[Any]:
        info = self.opts.app_label, self.opts.model_name

        def view(func: Any, name: str, route: str) -> Any:
            return path(route, self.admin_site.admin_view(func), name=f"{info[0]}_{info[1]}_{name}")

        return [
            view(self.upload_contacts_view, "upload", "<int:object_id>/upload/"),
            view(self.rejected_rows_view, "rejected_rows", "<int:object_id>/imports/<int:import_id>/rejected.csv"),
            view(self.assign_texters_view, "assign", "<int:object_id>/assign/"),
            view(self.start_view, "start", "<int:object_id>/start/"),
            view(self.archive_view, "archive", "<int:object_id>/archive/"),
            view(self.results_view, "results", "<int:object_id>/results/"),
            *super().get_urls(),
        ]

    def _campaign_urls(self, campaign: Campaign) -> dict[str, str]:
        info = f"admin:{self.opts.app_label}_{self.opts.model_name}"
        urls = {
            name: reverse(f"{info}_{name}", args=[campaign.pk])
            for name in ("upload", "assign", "start", "archive", "results", "change")
        }
        urls["changelist"] = reverse(f"{info}_changelist")
        try:
            contacts = reverse("admin:campaigns_contact_changelist")
        except NoReverseMatch:
            return urls
        urls["conversations"] = contacts + "?" + urlencode({"campaign__id__exact": campaign.pk})
        urls["needs_response"] = (
            contacts + "?" + urlencode({"campaign__id__exact": str(campaign.pk), "status__exact": "needs_response"})
        )
        urls["opted_out"] = contacts + "?" + urlencode({"campaign__id__exact": str(campaign.pk), "opted_out": "yes"})
        return urls

    def _page(self, request: HttpRequest, campaign: Campaign, template: str, title: str, **extra: Any) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": campaign,
            "campaign": campaign,
            "title": title,
            "subtitle": str(campaign),
            "campaign_urls": self._campaign_urls(campaign),
            "can_edit_campaign": organizer_scope(request).allows(self.edit_role, campaign.organization_id),
            **extra,
        }
        return TemplateResponse(request, f"admin/campaigns/campaign/{template}", context)

    def _campaign(self, request: HttpRequest, object_id: int, role: Role | None) -> Campaign:
        campaign = self.get_object(request, str(object_id))
        self.require(request, role, campaign)
        return campaign

    def upload_contacts_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        campaign = self._campaign(request, object_id, self.edit_role)
        form = ContactUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                contacts_import_start(
                    campaign=campaign, uploaded_file=upload, original_name=upload.name, acting_user=acting_user(request)
                )
            except ApplicationError as error:
                messages.error(request, error.message)
            else:
                self.log_change(request, campaign, f"Uploaded contacts from {upload.name}")
                messages.success(request, f"“{upload.name}” was received. The import report is below.")
            return HttpResponseRedirect(request.path)
        job = ImportJob.objects.filter(campaign=campaign).select_related("created_by").order_by("-id").first()
        return self._page(
            request,
            campaign,
            "upload_contacts.html",
            "Upload contacts",
            form=form,
            job=job,
            job_running=job is not None and job.status in (JobStatus.PENDING, JobStatus.RUNNING),
            columns=[
                ("firstName", True, FIELD_ALIASES["firstName"]),
                ("lastName", True, FIELD_ALIASES["lastName"]),
                ("cell", True, FIELD_ALIASES["cell"]),
                ("zip", False, FIELD_ALIASES["zip"]),
                ("external_id", False, FIELD_ALIASES["external_id"]),
            ],
            max_megabytes=settings.CONTACT_UPLOAD_MAX_BYTES // (1024 * 1024),
        )

    def rejected_rows_view(self, request: HttpRequest, object_id: int, import_id: int) -> FileResponse:
        campaign = self._campaign(request, object_id, self.view_role)
        job = ImportJob.objects.filter(pk=import_id, campaign=campaign).first()
        if job is None or not job.rejected_file:
            raise Http404("This import has no rejected rows.")
        return FileResponse(
            job.rejected_file.open("rb"),
            as_attachment=True,
            filename=f"rejected-rows-campaign-{campaign.pk}-import-{job.pk}.csv",
            content_type="text/csv",
        )

    def assign_texters_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        # Supervolunteers reassign; this is their part of running a campaign.
        campaign = self._campaign(request, object_id, Role.SUPERVOLUNTEER)
        rows = _texter_rows(campaign)
        form = AssignTextersForm(request.POST or None, rows=rows)
        if request.method == "POST" and form.is_valid():
            try:
                with transaction.atomic():  # all the counts typed, or none of them
                    self._apply_assignments(request, campaign, form)
            except ApplicationError as error:
                messages.error(request, error.message)
            return HttpResponseRedirect(request.path)
        return self._page(
            request,
            campaign,
            "assign_texters.html",
            "Assign texters",
            form=form,
            bound_rows=form.bound_rows(),
            unassigned=_unassigned_ready(campaign),
        )

    def _apply_assignments(self, request: HttpRequest, campaign: Campaign, form: AssignTextersForm) -> None:
        if "remove" in request.POST:
            texter_id = request.POST["remove"]
            assignment = (
                Assignment.objects.filter(campaign=campaign, texter_id=int(texter_id)).select_related("texter").first()
                if texter_id.isdigit()
                else None
            )
            if assignment is None:
                raise ApplicationError("That texter has no contacts in this campaign.")
            released = assignment_unassign(assignment=assignment)
            self.log_change(request, campaign, f"Took back {released} unsent contacts from {assignment.texter}")
            messages.success(
                request,
                f"{released} unsent contact{'' if released == 1 else 's'} of {assignment.texter} went back to the "
                "unassigned contacts. Their conversations stay with them.",
            )
        elif "split_evenly" in request.POST:
            texters = form.split_texters()
            shares = contacts_split_evenly(campaign=campaign, texters=texters)
            total = sum(shares.values())
            self.log_change(request, campaign, f"Split {total} contacts between {len(texters)} texters")
            messages.success(request, f"Split {total} contacts between {len(texters)} texters.")
        else:
            wanted = form.counts()
            if not wanted:
                raise ApplicationError("Type how many contacts to add next to at least one texter.")
            done = [
                (texter, contacts_assign(campaign=campaign, texter=texter, count=count)) for texter, count in wanted
            ]
            total = sum(count for _, count in done)
            self.log_change(request, campaign, f"Assigned {total} contacts")
            summary = ", ".join(f"{texter} {count}" for texter, count in done)
            short = sum(count for _, count in wanted) - total
            note = f" {short} fewer than asked: no more unassigned contacts." if short else ""
            messages.success(request, f"Assigned {total} contacts ({summary}).{note}")

    def start_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        return require_POST(self._start)(request, object_id)

    def _start(self, request: HttpRequest, object_id: int) -> HttpResponse:
        campaign = self._campaign(request, object_id, self.edit_role)
        try:
            campaign_start(campaign=campaign, acting_user=acting_user(request))
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            self.log_change(request, campaign, "Started")
            messages.success(request, f"“{campaign}” has started: texters can send their first messages now.")
        return redirect(self._campaign_urls(campaign)["change"])

    def archive_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        return require_POST(self._archive)(request, object_id)

    def _archive(self, request: HttpRequest, object_id: int) -> HttpResponse:
        campaign = self._campaign(request, object_id, self.edit_role)
        archived = request.POST.get("archived", "1") == "1"
        campaign_archive(campaign=campaign, archived=archived)
        self.log_change(request, campaign, "Archived" if archived else "Unarchived")
        if archived:
            messages.success(request, f"“{campaign}” is archived: texters no longer see it.")
        else:
            messages.success(request, f"“{campaign}” is no longer archived.")
        return redirect(self._campaign_urls(campaign)["change"])

    def results_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        campaign = self._campaign(request, object_id, self.view_role)
        return self._page(request, campaign, "results.html", "Results", **self.results_context(campaign))

    def results_context(self, campaign: Campaign) -> dict[str, Any]:
        """What the results page shows; texting's admin adds the message counts."""
        counts = _status_counts(campaign)
        return {
            "counts": counts,
            "status_rows": [(s.label, counts.by_status[s.value], s.value) for s in ContactStatus],
            "survey": _survey_results(campaign),
        }


# --- Tags ---------------------------------------------------------------------------------------


@admin.register(Tag)
class TagAdmin(OrganizationScopedAdmin):
    delete_role = Role.ADMIN
    list_display = ("name", "group", "organization", "description")
    list_filter = ("group", ("organization", scoped_related_filter(_organizations_viewable)))
    list_select_related = ("organization",)
    search_fields = ("name", "group")
    fields = ("organization", "name", "group", "description")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ("organization",) if obj is not None else ()


# --- Opt-outs -----------------------------------------------------------------------------------


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


@admin.register(OptOut)
class OptOutAdmin(OrganizationScopedAdmin):
    """Opted-out cells per organization. Opting back in asks why and keeps an audit event."""

    edit_role = None
    add_role = Role.ADMIN
    form = OptOutForm
    list_display = ("cell", "organization", "source", "reason", "created_by", "created_at")
    list_filter = ("source", ("organization", scoped_related_filter(_organizations_viewable)), "created_at")
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
        return response or redirect(reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist"))

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

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Any = None,
    ) -> Any:
        if obj is not None and self.has_opt_in_permission(request, obj):
            context["opt_in_url"] = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_opt_in", args=[obj.pk])
        return super().render_change_form(request, context, add, change, form_url, obj)


@admin.register(OptOutEvent)
class OptOutEventAdmin(ReadOnlyScopedAdmin):
    """Every opt-out and opt-in with who, when and why. Never edited or deleted."""

    list_display = ("created_at", "cell", "action", "source", "reason", "created_by", "organization")
    list_filter = ("action", "source", ("organization", scoped_related_filter(_organizations_viewable)))
    list_select_related = ("organization", "created_by")
    search_fields = ("=cell",)
    search_help_text = "A phone number, in any format."
    show_full_result_count = False

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[OptOutEvent], search_term: str) -> Any:
        return super().get_search_results(request, queryset, cell_search_term(search_term) or search_term)


# --- Imports ------------------------------------------------------------------------------------


@admin.register(ImportJob)
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
