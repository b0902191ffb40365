"""Back office: the campaign's own pages beside its change form: upload contacts (and download
rejected rows), assign texters, start, archive, results.

`CampaignPagesAdmin` holds them and their URLs; `CampaignAdmin` (campaign.py) builds on it with
the list and the change form, and texting's admin adds message counts to the results.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from accounts.admin_scoping import OrganizationScopedAdmin, acting_user, organizer_scope
from accounts.models import Role, User
from campaigns import jobs as campaign_jobs
from campaigns.importing import FIELD_ALIASES, contacts_import_start
from campaigns.models import Assignment, Campaign, ContactStatus, ImportJob, InteractionStep, JobStatus, Tag
from campaigns.scripts import TOP_LEVEL_FIELDS
from campaigns.selectors import (
    TexterRow,
    campaign_custom_field_keys,
    contact_count_unassigned,
    contact_counts_for_campaign,
    script_tree,
    survey_results_for_campaign,
    texter_list_for_campaign,
)
from campaigns.services import (
    OPT_OUT_WORDS,
    assignment_unassign,
    campaign_archive,
    campaign_copy,
    campaign_start,
    canned_responses_import,
    contacts_assign_many,
    contacts_copy_from_campaign,
    contacts_split_evenly,
    first_message_warnings,
    script_tree_save,
)
from core.errors import ApplicationError
from core.jobs import enqueue
from core.uploads import LimitedFileField

# Above this many contacts, the texters page assigns in a background job.
ASSIGN_JOB_THRESHOLD = 10_000


class ContactUploadForm(forms.Form):
    file = forms.FileField(
        label="Contact list (CSV)", widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"})
    )


class QuestionSelect(forms.Select):
    """A select of questions grouped by campaign; each option names its campaign (`data-source`) so
    the page can offer only the questions of the campaign chosen above it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sources: dict[str, int] = {}

    def create_option(
        self,
        name: str,
        value: Any,
        label: Any,
        selected: Any,
        index: int,
        subindex: int | None = None,
        attrs: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        option = super().create_option(name, value, label, selected, index, subindex=subindex, attrs=attrs)
        source = self.sources.get(str(value))
        if source is not None:
            option["attrs"]["data-source"] = str(source)
        return option


class ContactsFromCampaignForm(forms.Form):
    source = forms.ModelChoiceField(
        queryset=Campaign.objects.none(), label="From campaign", widget=forms.Select(attrs={"data-question-source": ""})
    )
    question = forms.TypedChoiceField(
        coerce=int,
        empty_value=None,
        required=False,
        label="To the question",
        widget=QuestionSelect,
        help_text="A question of that campaign's script, or any question.",
    )
    answer = forms.CharField(
        required=False,
        max_length=200,
        label="Who answered",
        help_text="Like “Yes” (any case). Empty: anyone — or, with a question chosen, anyone who answered it.",
    )
    status = forms.ChoiceField(
        required=False, choices=[("", "Any status"), *ContactStatus.choices], label="With the status"
    )
    tag = forms.ModelChoiceField(queryset=Tag.objects.none(), required=False, label="With the tag")

    def __init__(self, *args: Any, campaign: Campaign, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        source = self.fields["source"]
        tag = self.fields["tag"]
        question = self.fields["question"]
        assert isinstance(source, forms.ModelChoiceField) and isinstance(tag, forms.ModelChoiceField)
        assert isinstance(question, forms.TypedChoiceField) and isinstance(question.widget, QuestionSelect)
        source.queryset = Campaign.objects.filter(organization_id=campaign.organization_id).exclude(pk=campaign.pk)
        tag.queryset = Tag.objects.filter(organization_id=campaign.organization_id)
        steps = (
            InteractionStep.objects.filter(campaign__organization_id=campaign.organization_id)
            .exclude(campaign=campaign)
            .exclude(question="")
            .select_related("campaign")
            .order_by("-campaign_id", "id")
        )
        groups: dict[int, tuple[str, list[tuple[int, str]]]] = {}
        for step in steps:
            label = step.question if len(step.question) <= 80 else f"{step.question[:79]}…"
            groups.setdefault(step.campaign_id, (str(step.campaign), []))[1].append((step.pk, label))
            question.widget.sources[str(step.pk)] = step.campaign_id
        question.choices = [("", "Any question"), *groups.values()]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        source, question = data.get("source"), data.get("question")
        widget = self.fields["question"].widget
        assert isinstance(widget, QuestionSelect)
        if source is not None and question is not None and widget.sources.get(str(question)) != source.pk:
            problem = f"That question is not in “{source}”'s script: choose one of its questions, or any question."
            self.add_error("question", problem)
        return data


class CannedImportForm(forms.Form):
    file = LimitedFileField(
        label="Canned responses (CSV with Title,Text columns)",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
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


class CampaignPagesAdmin(OrganizationScopedAdmin):
    """The campaign's pages beyond the change form. Not registered itself: see `CampaignAdmin`."""

    def get_urls(self) -> list[Any]:
        info = self.opts.app_label, self.opts.model_name

        def view(func: Any, name: str, route: str) -> Any:
            return path(route, self.admin_site.admin_view(func), name=f"{info[0]}_{info[1]}_{name}")

        return [
            view(self.upload_contacts_view, "upload", "<int:object_id>/upload/"),
            view(self.rejected_rows_view, "rejected_rows", "<int:object_id>/imports/<int:import_id>/rejected.csv"),
            view(self.import_status_view, "import_status", "<int:object_id>/imports/<int:import_id>/status.json"),
            view(self.assign_texters_view, "assign", "<int:object_id>/assign/"),
            view(self.script_view, "script", "<int:object_id>/script/"),
            view(self.canned_import_view, "canned_import", "<int:object_id>/canned-responses/import/"),
            view(self.copy_view, "copy", "<int:object_id>/copy/"),
            view(self.contacts_from_campaign_view, "from_campaign", "<int:object_id>/contacts-from-campaign/"),
            view(self.start_view, "start", "<int:object_id>/start/"),
            view(self.archive_view, "archive", "<int:object_id>/archive/"),
            view(self.results_view, "results", "<int:object_id>/results/"),
            *super().get_urls(),
        ]

    def _campaign_urls(self, campaign: Campaign) -> dict[str, str]:
        info = f"admin:{self.opts.app_label}_{self.opts.model_name}"
        urls = {
            name: reverse(f"{info}_{name}", args=[campaign.pk])
            for name in (
                "upload",
                "assign",
                "start",
                "archive",
                "results",
                "change",
                "script",
                "canned_import",
                "copy",
                "from_campaign",
            )
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

    # --- script tree editor

    def script_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        campaign = self._campaign(request, object_id, self.view_role)
        can_edit = organizer_scope(request).allows(self.edit_role, campaign.organization_id)
        tree: Any = None
        if request.method == "POST":
            self.require(request, self.edit_role, campaign)
            try:
                tree = json.loads(request.POST.get("tree", ""))
                script_tree_save(campaign=campaign, tree=tree)
            except (ValueError, TypeError):
                messages.error(request, "The script could not be read: reload the page and try again.")
            except ApplicationError as error:
                messages.error(request, error.message)
            else:
                self.log_change(request, campaign, "Edited the script")
                messages.success(request, "The script is saved.")
                root = tree.get("script", "") if isinstance(tree, dict) else ""
                for warning in first_message_warnings(script=root, organization_name=campaign.organization.name):
                    messages.warning(request, warning)
                return HttpResponseRedirect(request.path)
        fields = [*TOP_LEVEL_FIELDS, *campaign_custom_field_keys(campaign=campaign)]
        return self._page(
            request,
            campaign,
            "script.html",
            "Script",
            tree=tree if tree is not None else script_tree(campaign=campaign),
            fields=fields,
            custom_fields=campaign_custom_field_keys(campaign=campaign),
            organization_name=campaign.organization.name,
            can_edit_script=can_edit,
            opt_out_words=list(OPT_OUT_WORDS),
            canned_form=CannedImportForm(),
            canned=list(campaign.canned_responses.filter(user__isnull=True)),
        )

    def canned_import_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        return require_POST(self._canned_import)(request, object_id)

    def _canned_import(self, request: HttpRequest, object_id: int) -> HttpResponse:
        campaign = self._campaign(request, object_id, self.edit_role)
        form = CannedImportForm(request.POST, request.FILES)
        if not form.is_valid():
            problem = "Choose a CSV file with two columns, Title and Text."
            if form.has_error("file", "file_too_large"):
                problem = str(form.errors["file"][0])
            messages.error(request, problem)
        else:
            try:
                text = io.TextIOWrapper(form.cleaned_data["file"], encoding="utf-8-sig", newline="")
                added = canned_responses_import(campaign=campaign, rows=csv.reader(text))
            except UnicodeDecodeError:
                messages.error(request, "The file is not UTF-8 text: save it from your spreadsheet as “CSV UTF-8”.")
            except (ApplicationError, csv.Error) as error:
                messages.error(request, getattr(error, "message", str(error)))
            else:
                self.log_change(request, campaign, f"Imported {added} canned responses")
                messages.success(request, f"Added {added} canned response{'' if added == 1 else 's'}.")
        return redirect(self._campaign_urls(campaign)["script"] + "#canned")

    def contacts_from_campaign_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        return require_POST(self._contacts_from_campaign)(request, object_id)

    def _contacts_from_campaign(self, request: HttpRequest, object_id: int) -> HttpResponse:
        campaign = self._campaign(request, object_id, self.edit_role)
        form = ContactsFromCampaignForm(request.POST, campaign=campaign)
        if not form.is_valid():
            if "source" in form.errors:
                messages.error(request, "Choose a campaign of your organization to take contacts from.")
            for name, errors in form.errors.items():
                if name != "source":
                    messages.error(request, " ".join(str(error) for error in errors))
        else:
            data = form.cleaned_data
            try:
                added = contacts_copy_from_campaign(
                    campaign=campaign,
                    source=data["source"],
                    answer=data["answer"],
                    question_id=data["question"],
                    status=data["status"],
                    tag_id=data["tag"].pk if data["tag"] else None,
                )
            except ApplicationError as error:
                messages.error(request, error.message)
            else:
                self.log_change(request, campaign, f"Added {added} contacts from campaign {data['source'].pk}")
                messages.success(
                    request,
                    f"Added {added} contact{'' if added == 1 else 's'} from “{data['source']}” "
                    "(opted-out numbers and numbers already here were left out).",
                )
        return redirect(self._campaign_urls(campaign)["upload"])

    def copy_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        return require_POST(self._copy)(request, object_id)

    def _copy(self, request: HttpRequest, object_id: int) -> HttpResponse:
        campaign = self._campaign(request, object_id, self.edit_role)
        copy = campaign_copy(campaign=campaign, acting_user=acting_user(request))
        self.log_addition(request, copy, f"Copied from campaign {campaign.pk}")
        messages.success(
            request,
            f"“{copy}” is a copy of “{campaign}”: script, canned responses and settings. "
            "Upload its contacts and assign texters.",
        )
        return redirect(self._campaign_urls(copy)["change"])

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
            from_campaign_form=ContactsFromCampaignForm(campaign=campaign),
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

    def import_status_view(self, request: HttpRequest, object_id: int, import_id: int) -> JsonResponse:
        """What the upload page's progress bar polls when its websocket is down."""
        campaign = self._campaign(request, object_id, self.view_role)
        job = ImportJob.objects.filter(pk=import_id, campaign=campaign).first()
        if job is None:
            raise Http404("There is no such import for this campaign.")
        return JsonResponse({"import_id": job.pk, "status": job.status, "progress": job.progress})

    def assign_texters_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        # Supervolunteers reassign; this is their part of running a campaign.
        campaign = self._campaign(request, object_id, Role.SUPERVOLUNTEER)
        rows = texter_list_for_campaign(campaign=campaign)
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
            unassigned=contact_count_unassigned(campaign=campaign),
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
            if texters and contact_count_unassigned(campaign=campaign) > ASSIGN_JOB_THRESHOLD:
                self._assign_in_background(request, campaign, [], texters)
                return
            shares = contacts_split_evenly(campaign=campaign, texters=texters)
            total = sum(shares.values())
            self.log_change(request, campaign, f"Split {total} contacts between {len(texters)} texters")
            messages.success(request, f"Split {total} contacts between {len(texters)} texters.")
        else:
            wanted = form.counts()
            if not wanted:
                raise ApplicationError("Type how many contacts to add next to at least one texter.")
            if sum(count for _, count in wanted) > ASSIGN_JOB_THRESHOLD:
                self._assign_in_background(request, campaign, wanted, [])
                return
            given = contacts_assign_many(campaign=campaign, counts=wanted)
            done = [(texter, given[texter.pk]) for texter in dict.fromkeys(texter for texter, _ in wanted)]
            total = sum(count for _, count in done)
            self.log_change(request, campaign, f"Assigned {total} contacts")
            summary = ", ".join(f"{texter} {count}" for texter, count in done)
            short = sum(count for _, count in wanted) - total
            note = f" {short} fewer than asked: no more unassigned contacts." if short else ""
            messages.success(request, f"Assigned {total} contacts ({summary}).{note}")

    def _assign_in_background(
        self, request: HttpRequest, campaign: Campaign, wanted: list[tuple[User, int]], split: list[User]
    ) -> None:
        enqueue(
            campaign_jobs.assign_contacts,
            campaign_id=campaign.pk,
            wanted=[[texter.pk, count] for texter, count in wanted],
            split_texter_ids=[texter.pk for texter in split],
        )
        self.log_change(request, campaign, "Queued a large assignment")
        messages.info(
            request, "That is a large assignment: it runs in the background. Refresh this page in a minute to see it."
        )

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
        # Exports hold every contact's number and answers: admins and owners only, as in the API.
        can_export = organizer_scope(request).allows(Role.ADMIN, campaign.organization_id)
        return self._page(
            request, campaign, "results.html", "Results", can_export=can_export, **self.results_context(campaign)
        )

    def results_context(self, campaign: Campaign) -> dict[str, Any]:
        """What the results page shows; texting's admin adds the message counts."""
        counts = contact_counts_for_campaign(campaign=campaign)
        return {
            "counts": counts,
            "status_rows": [(s.label, counts.by_status[s.value], s.value) for s in ContactStatus],
            "survey": survey_results_for_campaign(campaign=campaign),
        }
