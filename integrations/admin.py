"""Back office for outgoing webhooks: endpoints (admins and owners) and their delivery log."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.html import format_html

from accounts.admin_scoping import (
    CappedCountPaginator,
    OrganizationScopedAdmin,
    ReadOnlyScopedAdmin,
    acting_user,
)
from accounts.models import Role
from integrations.models import DeliveryStatus, Event, WebhookDelivery, WebhookEndpoint, validate_webhook_url
from integrations.services import endpoint_send_test


class WebhookEndpointForm(forms.ModelForm):  # type: ignore[type-arg]
    # A plain text field: the model's validator explains what an acceptable address looks like.
    url = forms.CharField(label="URL", max_length=500, validators=[validate_webhook_url])
    events = forms.MultipleChoiceField(
        choices=Event.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="Spoke POSTs these events to the address, signed with the secret (see the README).",
    )

    class Meta:
        model = WebhookEndpoint
        fields = ("organization", "url", "description", "events", "is_active", "secret")


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(OrganizationScopedAdmin):
    form = WebhookEndpointForm
    view_role = Role.ADMIN
    edit_role = Role.ADMIN
    delete_role = Role.ADMIN
    list_display = ("url", "organization", "event_list", "is_active", "created_at")
    list_filter = ("is_active",)
    list_select_related = ("organization",)
    change_form_template = "admin/integrations/webhookendpoint/change_form.html"

    @admin.display(description="events")
    def event_list(self, obj: WebhookEndpoint) -> str:
        return ", ".join(obj.events or []) or "—"

    def get_urls(self) -> list[Any]:
        name = f"{self.opts.app_label}_{self.opts.model_name}_send_test"
        return [
            path("<int:object_id>/send-test/", self.admin_site.admin_view(self.send_test_view), name=name),
            *super().get_urls(),
        ]

    def send_test_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        endpoint = self.get_object(request, str(object_id))
        self.require(request, Role.ADMIN, endpoint)
        delivery = endpoint_send_test(endpoint=endpoint, acting_user=acting_user(request))
        if delivery.status == DeliveryStatus.SUCCEEDED:
            messages.success(request, f"Test event delivered: the endpoint answered HTTP {delivery.response_code}.")
        elif delivery.status == DeliveryStatus.PENDING:
            messages.info(request, "Test event queued: see the delivery log for the outcome.")
        elif delivery.status == DeliveryStatus.RETRYING:
            messages.warning(request, f"The test event was not delivered: {delivery.error} It will be retried.")
        else:
            messages.error(request, f"The test event was not delivered: {delivery.error}")
        return redirect(self.admin_url("change", endpoint.pk))

    def change_form_context(self, request: HttpRequest, obj: Any) -> dict[str, Any]:
        deliveries = reverse("admin:integrations_webhookdelivery_changelist") + f"?endpoint__id__exact={obj.pk}"
        context: dict[str, Any] = {"deliveries_url": deliveries}
        if self._allows(request, Role.ADMIN, obj):
            context["send_test_url"] = self.admin_url("send_test", obj.pk)
        return context


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyScopedAdmin):
    """Every event sent to an endpoint: what, when, how it went. Written by the delivery jobs."""

    organization_lookup = "endpoint__organization"
    view_role = Role.ADMIN
    list_display = ("created_at", "event", "endpoint_url", "status", "attempts", "response_code", "response_ms")
    list_filter = ("status", "event")
    list_select_related = ("endpoint",)
    raw_id_fields = ("endpoint",)
    show_full_result_count = False
    paginator = CappedCountPaginator
    readonly_fields = (
        "endpoint",
        "event",
        "status",
        "attempts",
        "response_code",
        "response_ms",
        "response_body",
        "error",
        "next_attempt_at",
        "created_at",
        "delivered_at",
        "payload",
    )

    @admin.display(description="endpoint")
    def endpoint_url(self, obj: WebhookDelivery) -> str:
        return format_html("{}", obj.endpoint.url)

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        # The endpoint page links to its own deliveries; the queryset stays scoped either way.
        return lookup == "endpoint__id__exact" or super().lookup_allowed(lookup, value, request)  # type: ignore[call-arg]

    def get_queryset(self, request: HttpRequest) -> QuerySet[WebhookDelivery]:
        return super().get_queryset(request).select_related("endpoint")
