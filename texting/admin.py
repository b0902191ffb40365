"""Back office: conversations (contacts with their threads) and message review.

These pages need contacts and messages together, so they live here rather than in `campaigns`
(which never imports texting). For the same reason this module extends the campaign admin with
message counts and re-registers it.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import SimpleListFilter
from django.db.models import OuterRef, Q, QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import path
from django.utils.dateformat import format as date_format
from django.utils.html import format_html, format_html_join
from django.utils.timezone import localtime
from django.views.decorators.http import require_POST

from accounts.admin_scoping import (
    CappedCountPaginator,
    OrganizationScopedAdmin,
    ReadOnlyScopedAdmin,
    acting_user,
    organizer_scope,
    scoped_related_filter,
)
from accounts.models import Membership, Organization, Role, User
from campaigns.admin.campaign import CampaignAdmin as CampaignSettingsAdmin
from campaigns.admin.lookups import campaigns_viewable, cell_search_term
from campaigns.models import Campaign, Contact, ContactTag, OptOut, QuestionResponse
from campaigns.services import contact_close
from core.errors import ApplicationError
from core.queries import count_subquery
from texting.admin_review import (
    ErrorCodeFilter,
    MessageTextFilter,
    ResponseWindowFilter,
    ReviewActionsMixin,
    TagFilter,
)
from texting.admin_stats import message_overview, messages_per_hour, needs_response_overdue, texter_table
from texting.errors import describe
from texting.exports import export_start
from texting.models import Direction, ExportJob, Message, MessageStatus
from texting.review import review_message_send
from texting.services import conversation_reopen

DELIVERED_OR_SENT = (MessageStatus.SENT, MessageStatus.DELIVERED)


def _people_viewable(request: HttpRequest) -> QuerySet[User]:
    ids = organizer_scope(request).organization_ids(Role.SUPERVOLUNTEER)
    people = User.objects.order_by("first_name", "last_name", "email")
    if ids is None:
        return people.filter(assignments__isnull=False).distinct()
    return people.filter(id__in=Membership.objects.filter(organization_id__in=ids).values("user_id"))


# --- Campaigns, with message counts ------------------------------------------------------------


class CampaignAdmin(CampaignSettingsAdmin):
    list_display = (*CampaignSettingsAdmin.list_display, "messages_sent")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Campaign]:
        sent = Message.objects.filter(
            campaign=OuterRef("pk"), direction=Direction.OUTBOUND, status__in=DELIVERED_OR_SENT
        )
        return super().get_queryset(request).annotate(messages_sent_total=count_subquery(sent, group_by="campaign"))

    @admin.display(description="messages sent")
    def messages_sent(self, obj: Campaign) -> int:
        return getattr(obj, "messages_sent_total", 0)

    def results_context(self, campaign: Campaign) -> dict[str, Any]:
        context = super().results_context(campaign)
        context["message_stats"] = message_overview(campaign=campaign)
        context["hourly"] = messages_per_hour(campaign=campaign)
        context["texter_rows"] = texter_table(campaign=campaign)
        context["overdue"] = needs_response_overdue(campaign=campaign)
        context["exports"] = list(ExportJob.objects.filter(campaign=campaign).select_related("created_by")[:5])
        return context

    # --- exports

    def get_urls(self) -> list[Any]:
        info = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path("<int:object_id>/export/", self.admin_site.admin_view(self.export_view), name=f"{info}_export"),
            path(
                "<int:object_id>/exports/<int:export_id>/<str:kind>.csv",
                self.admin_site.admin_view(self.export_download_view),
                name=f"{info}_export_download",
            ),
            *super().get_urls(),
        ]

    def export_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        return require_POST(self._export)(request, object_id)

    def _export(self, request: HttpRequest, object_id: int) -> HttpResponse:
        campaign = self._campaign(request, object_id, Role.ADMIN)
        try:
            export_start(campaign=campaign, acting_user=acting_user(request))
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            self.log_change(request, campaign, "Exported")
            messages.success(request, "The export has started: the download links appear below when it's done.")
        return redirect(self.admin_url("results", campaign.pk) + "#exports")

    def export_download_view(self, request: HttpRequest, object_id: int, export_id: int, kind: str) -> FileResponse:
        campaign = self._campaign(request, object_id, Role.ADMIN)
        job = ExportJob.objects.filter(pk=export_id, campaign=campaign).first()
        file = None if job is None else {"contacts": job.contacts_file, "messages": job.messages_file}.get(kind)
        if not file:
            raise Http404("This export has no such file (yet).")
        return FileResponse(
            file.open("rb"),
            as_attachment=True,
            filename=f"campaign-{campaign.pk}-{kind}-export-{job.pk}.csv",  # type: ignore[union-attr]
            content_type="text/csv",
        )


def _error_description(code: int | None) -> str:
    info = describe(code)
    return info.description if info else ""


# Registered by campaigns/admin/__init__.py (loaded first); replaced by the version with message counts.
admin.site.unregister(Campaign)
admin.site.register(Campaign, CampaignAdmin)


# --- Conversations -----------------------------------------------------------------------------


class OptedOutFilter(SimpleListFilter):
    title = "opted out"
    parameter_name = "opted_out"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Opted out"), ("no", "Not opted out")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Contact]) -> QuerySet[Contact]:
        if self.value() in ("yes", "no"):
            return queryset.filter(is_opted_out=self.value() == "yes")
        return queryset


@admin.register(Contact)
class ContactAdmin(ReviewActionsMixin, OrganizationScopedAdmin):
    """Conversations (message review): contacts are immutable here; organizers read the thread,
    answer, close, reopen, reassign and un-assign them."""

    organization_lookup = "campaign__organization"
    edit_role = None
    list_display = ("name_and_cell", "campaign", "texter", "state", "updated")
    list_display_links = ("name_and_cell",)
    list_filter = (
        MessageTextFilter,
        ("campaign", scoped_related_filter(campaigns_viewable)),
        "status",
        ResponseWindowFilter,
        OptedOutFilter,
        ("assignment__texter", scoped_related_filter(_people_viewable, title="texter")),
        TagFilter,
        ErrorCodeFilter,
    )
    list_select_related = ("campaign", "assignment__texter")
    search_fields = ("^first_name", "^last_name", "=cell")
    search_help_text = "A first or last name (or its start), or a phone number in any format."
    ordering = ("-id",)
    list_per_page = 50
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER  # per-choice counts over millions of rows
    paginator = CappedCountPaginator
    actions = ("reassign_selected", "unassign_selected", "close_selected", "reopen_selected")
    fieldsets = (
        ("Conversation", {"fields": ("conversation",)}),
        (None, {"fields": ("name", "cell", "campaign", "texter", "status", "opt_out_state", "error")}),
        ("Survey answers and tags", {"fields": ("survey_answers", "tag_list")}),
        ("From the contact list", {"fields": ("zip", "external_id", "timezone", "custom_field_list", "updated_at")}),
    )
    readonly_fields = (
        "name",
        "texter",
        "opt_out_state",
        "error",
        "conversation",
        "survey_answers",
        "tag_list",
        "custom_field_list",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Contact]:
        return super().get_queryset(request).select_related("campaign", "assignment__texter")

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[Contact], search_term: str) -> Any:
        cell = cell_search_term(search_term)
        if cell is not None:
            return queryset.filter(cell=cell), False
        return super().get_search_results(request, queryset, search_term)

    # --- columns and read-only fields

    @admin.display(description="name", ordering="last_name")
    def name(self, obj: Contact) -> str:
        return f"{obj.first_name} {obj.last_name}".strip() or "(no name)"

    @admin.display(description="contact", ordering="last_name")
    def name_and_cell(self, obj: Contact) -> str:
        return format_html('{}<br><span class="spoke-help">{}</span>', self.name(obj), obj.cell)

    @admin.display(description="status", ordering="status")
    def state(self, obj: Contact) -> str:
        if obj.is_opted_out:
            return format_html(
                '{}<br><span class="spoke-status spoke-status-archived">opted out</span>', obj.get_status_display()
            )
        return obj.get_status_display()

    @admin.display(description="last update", ordering="updated_at")
    def updated(self, obj: Contact) -> str:
        return date_format(localtime(obj.updated_at), "M j, H:i")

    @admin.display(description="texter", ordering="assignment__texter__first_name")
    def texter(self, obj: Contact) -> str:
        return str(obj.assignment.texter) if obj.assignment else "unassigned"

    @admin.display(description="opted out")
    def opt_out_state(self, obj: Contact) -> str:
        if not obj.is_opted_out:
            return "No"
        optout = OptOut.objects.filter(organization_id=obj.campaign.organization_id, cell=obj.cell).first()
        if optout is None:
            return "Yes"
        return format_html(
            "Yes, since {} ({}){}",
            optout.created_at.strftime("%Y-%m-%d %H:%M"),
            optout.get_source_display(),
            f": {optout.reason}" if optout.reason else "",
        )

    @admin.display(description="last error")
    def error(self, obj: Contact) -> str:
        info = describe(obj.error_code)
        return f"{info.code}: {info.description}" if info else "—"

    @admin.display(description="messages")
    def conversation(self, obj: Contact) -> str:
        thread = list(Message.objects.thread(obj).select_related("texter"))
        for message in thread:
            message.error_description = _error_description(message.error_code)  # type: ignore[attr-defined]
        return render_to_string("admin/texting/conversation.html", {"thread": thread})

    @admin.display(description="survey answers")
    def survey_answers(self, obj: Contact) -> str:
        answers = QuestionResponse.objects.filter(contact=obj).select_related("interaction_step").order_by("id")
        rows = [(answer.interaction_step.question or "First question", answer.value) for answer in answers]
        if not rows:
            return "None yet."
        return format_html(
            '<div class="spoke-lines">{}</div>', format_html_join("", "<div>{} → <strong>{}</strong></div>", rows)
        )

    @admin.display(description="tags")
    def tag_list(self, obj: Contact) -> str:
        names = list(ContactTag.objects.filter(contact=obj).order_by("tag__name").values_list("tag__name", flat=True))
        return ", ".join(names) or "None."

    @admin.display(description="custom fields")
    def custom_field_list(self, obj: Contact) -> str:
        rows = sorted((str(key), str(value)) for key, value in (obj.custom_fields or {}).items())
        if not rows:
            return "None."
        return format_html('<div class="spoke-lines">{}</div>', format_html_join("", "<div>{}: {}</div>", rows))

    # --- status actions (supervolunteers review conversations too)

    def has_status_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allows(request, Role.SUPERVOLUNTEER, obj)

    @admin.action(description="Close the selected conversations", permissions=["status"])
    def close_selected(self, request: HttpRequest, queryset: QuerySet[Contact]) -> None:
        self._close_many(request, self._review_ids(request, queryset))

    @admin.action(description="Reopen the selected conversations", permissions=["status"])
    def reopen_selected(self, request: HttpRequest, queryset: QuerySet[Contact]) -> None:
        reopened, refused = 0, []
        for contact in self.restrict_to(request, queryset, Role.SUPERVOLUNTEER):
            try:
                conversation_reopen(contact=contact)
            except ApplicationError:
                refused.append(contact.cell)
            else:
                reopened += 1
        messages.success(request, f"Reopened {reopened} conversation{'' if reopened == 1 else 's'}.")
        if refused:
            messages.warning(request, f"Not reopened, because they opted out: {', '.join(refused)}.")

    def get_urls(self) -> list[Any]:
        name = f"{self.opts.app_label}_{self.opts.model_name}_status"
        send_name = f"{self.opts.app_label}_{self.opts.model_name}_send"
        return [
            path("<int:object_id>/status/", self.admin_site.admin_view(self.status_view), name=name),
            path("<int:object_id>/send/", self.admin_site.admin_view(self.send_view), name=send_name),
            *super().get_urls(),
        ]

    def status_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        return require_POST(self._set_status)(request, object_id)

    def _set_status(self, request: HttpRequest, object_id: int) -> HttpResponse:
        contact = self.get_object(request, str(object_id))
        self.require(request, Role.SUPERVOLUNTEER, contact)
        try:
            if request.POST.get("status") == "reopen":
                conversation_reopen(contact=contact)
                messages.success(request, "The conversation is open again.")
            else:
                contact_close(contact=contact)
                messages.success(request, "The conversation is closed.")
        except ApplicationError as error:
            messages.error(request, error.message)
        self.log_change(request, contact, f"Status set to {contact.status}")
        return redirect(self.admin_url("change", contact.pk))

    def send_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        return require_POST(self._send)(request, object_id)

    def _send(self, request: HttpRequest, object_id: int) -> HttpResponse:
        contact = self.get_object(request, str(object_id))
        self.require(request, Role.SUPERVOLUNTEER, contact)
        try:
            review_message_send(
                acting_user=acting_user(request), contact_id=contact.pk, body=request.POST.get("body", "")
            )
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            self.log_change(request, contact, "Sent a message from review")
            messages.success(request, "Your message is on its way.")
        return redirect(self.admin_url("change", contact.pk))

    def change_form_context(self, request: HttpRequest, obj: Any) -> dict[str, Any]:
        if not self.has_status_permission(request, obj):
            return {}
        return {"status_url": self.admin_url("status", obj.pk), "send_url": self.admin_url("send", obj.pk)}


# --- Messages ---------------------------------------------------------------------------------


class MatchedFilter(SimpleListFilter):
    title = "matched to a contact"
    parameter_name = "matched"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("no", "Unmatched replies (no contact)"), ("yes", "Matched")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Message]) -> QuerySet[Message]:
        if self.value() == "no":
            return queryset.filter(contact__isnull=True)
        if self.value() == "yes":
            return queryset.filter(contact__isnull=False)
        return queryset


@admin.register(Message)
class MessageAdmin(ReadOnlyScopedAdmin):
    """Every message, read-only. Built for millions of rows: no full count, joins chosen up front."""

    list_display = ("when", "way", "short_body", "contact", "texter", "delivery")
    list_display_links = ("when",)
    list_filter = (
        MatchedFilter,
        "direction",
        "status",
        ErrorCodeFilter,
        ("campaign", scoped_related_filter(campaigns_viewable)),
    )
    list_select_related = ("contact", "campaign", "texter")
    raw_id_fields = ("organization", "campaign", "contact", "texter")
    search_fields = ("body", "=to_number", "=from_number")
    search_help_text = "Words of the message, or a phone number in any format."
    ordering = ("-id",)
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER  # per-choice counts over millions of rows
    paginator = CappedCountPaginator
    fieldsets = (
        (None, {"fields": ("direction", "body", "media_urls", "campaign", "contact", "texter", "organization")}),
        ("Delivery", {"fields": ("status", "status_note", "error", "segments", "attempts", "is_opt_out_notice")}),
        ("Provider", {"fields": ("provider", "provider_sid", "messaging_service_sid", "from_number", "to_number")}),
        ("Times", {"fields": ("created_at", "queued_at", "sent_at", "delivered_at", "send_before")}),
    )
    readonly_fields = ("error",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Message]:
        queryset = super(OrganizationScopedAdmin, self).get_queryset(request)
        ids = organizer_scope(request).organization_ids(self.view_role)
        if ids is None:
            return queryset
        # A reply that matched no contact has no organization: it is shown to the organization
        # whose messaging service received it (never for the server's shared default service).
        services = {
            *Organization.objects.filter(id__in=ids)
            .exclude(messaging_service_sid="")
            .values_list("messaging_service_sid", flat=True),
            *Campaign.objects.filter(organization_id__in=ids)
            .exclude(messaging_service_sid="")
            .values_list("messaging_service_sid", flat=True),
        }
        return queryset.filter(
            Q(organization_id__in=ids) | Q(organization__isnull=True, messaging_service_sid__in=services)
        )

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[Message], search_term: str) -> Any:
        cell = cell_search_term(search_term)
        if cell is not None:
            return queryset.filter(Q(to_number=cell) | Q(from_number=cell)), False
        return super().get_search_results(request, queryset, search_term)

    @admin.display(description="message")
    def short_body(self, obj: Message) -> str:
        return obj.body if len(obj.body) <= 60 else obj.body[:59] + "…"

    @admin.display(description="when", ordering="-id")
    def when(self, obj: Message) -> str:
        return date_format(localtime(obj.created_at), "M j, H:i")

    @admin.display(description="", ordering="direction")
    def way(self, obj: Message) -> str:
        return "→ out" if obj.direction == Direction.OUTBOUND else "← in"

    @admin.display(description="status", ordering="status")
    def delivery(self, obj: Message) -> str:
        if obj.error_code is None:
            return obj.get_status_display()
        return format_html(
            '{}<br><span title="{}">error {}</span>', obj.get_status_display(), self.error(obj), obj.error_code
        )

    @admin.display(description="error", ordering="error_code")
    def error(self, obj: Message) -> str:
        info = describe(obj.error_code)
        return f"{info.code}: {info.description}" if info else ""


from texting import admin_system, admin_unmatched  # noqa: E402, F401 (register the system page and unmatched replies)
