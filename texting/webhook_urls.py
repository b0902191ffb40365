from __future__ import annotations

from django.urls import path

from texting import webhooks

urlpatterns = [
    path("twilio/inbound", webhooks.twilio_inbound, name="twilio-inbound"),
    path("twilio/status", webhooks.twilio_status, name="twilio-status"),
]
