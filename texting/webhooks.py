"""Provider webhooks: signed, idempotent, a fixed one to four statements each.

Twilio signs each request with the auth token of the account that sent the message, over the
URL it called (ours as the public sees it: PUBLIC_BASE_URL, so a TLS-terminating proxy in front
does not break validation) and the POST parameters. A bad or missing signature answers 403.
Once authenticated a request is always acknowledged with a 2xx, even when its content is odd,
so Twilio does not retry it for hours; only a database outage answers 5xx (and is retried).

A body larger than WEBHOOK_MAX_BYTES answers 413 before it is read (Twilio's are a few KB).
Twilio's signature carries no timestamp, so a replayed request is authentic and accepted; it is
harmless because both webhooks are idempotent: the same MessageSid stores one reply, and a
status report never moves a message backwards (tested in texting/tests/test_webhook_storms.py).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import DataError, IntegrityError
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden, QueryDict
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator

from accounts.models import Organization
from core.errors import ApplicationError
from texting.providers.base import InboundSMS, StatusReport
from texting.services import message_receive, message_status_update

logger = logging.getLogger(__name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
# Content we cannot use is acknowledged and logged, never retried by Twilio.
UNUSABLE = (ValueError, ApplicationError, DataError, IntegrityError)


def _auth_token_for(account_sid: str) -> str:
    """The server's token, or the token of the organization whose own Twilio account sent it."""
    if account_sid and account_sid != settings.TWILIO_ACCOUNT_SID:
        token = (
            Organization.objects.filter(twilio_account_sid=account_sid)
            .exclude(twilio_auth_token="")
            .values_list("twilio_auth_token", flat=True)
            .first()
        )
        if token:
            return token
    return settings.TWILIO_AUTH_TOKEN


def signature_valid(request: HttpRequest) -> bool:
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature:
        return False
    token = _auth_token_for(request.POST.get("AccountSid", ""))
    if not token:
        return False
    # Twilio signs the public URL it called, which differs from ours behind a proxy.
    url = f"{settings.PUBLIC_BASE_URL}{request.get_full_path()}"
    return RequestValidator(token).validate(url, request.POST.dict(), signature)


def too_large(request: HttpRequest) -> HttpResponse | None:
    """413 for a body over WEBHOOK_MAX_BYTES, judged by its declared length before reading it,
    and by its real length when none is declared (Django then reads at most its own limit)."""
    declared = request.META.get("CONTENT_LENGTH") or ""
    size = int(declared) if declared.isdigit() else len(request.body)
    if size > settings.WEBHOOK_MAX_BYTES:
        logger.warning("webhook body of %s bytes refused (limit %s)", size, settings.WEBHOOK_MAX_BYTES)
        return HttpResponse(
            f"Request body too large: at most {settings.WEBHOOK_MAX_BYTES} bytes.",
            status=413,
            content_type="text/plain",
        )
    return None


def _int(data: QueryDict, name: str, default: int) -> int:
    value = data.get(name, "")
    return int(value) if value.strip().isdigit() else default


def inbound_from_post(data: QueryDict) -> InboundSMS:
    """A Twilio inbound-message webhook as plain values: every part's text and every media URL."""
    media_count = _int(data, "NumMedia", 0)
    return InboundSMS(
        sid=data.get("MessageSid", "") or data.get("SmsSid", ""),
        from_number=data.get("From", ""),
        to_number=data.get("To", ""),
        body=data.get("Body", ""),
        messaging_service_sid=data.get("MessagingServiceSid", ""),
        media_urls=[url for i in range(media_count) if (url := data.get(f"MediaUrl{i}", ""))],
        num_segments=_int(data, "NumSegments", 1),
    )


@csrf_exempt
@require_POST
def twilio_inbound(request: HttpRequest) -> HttpResponse:
    if refused := too_large(request):
        return refused
    if not signature_valid(request):
        return HttpResponseForbidden("Invalid Twilio signature.")
    inbound = inbound_from_post(request.POST)
    if not inbound.sid or not inbound.from_number:
        logger.warning("inbound webhook without MessageSid or From; acknowledged and ignored")
    else:
        try:
            message_receive(inbound=inbound)
        except UNUSABLE:
            logger.exception("inbound message %s could not be stored; acknowledged", inbound.sid)
    return HttpResponse(EMPTY_TWIML, content_type="text/xml")


@csrf_exempt
@require_POST
def twilio_status(request: HttpRequest) -> HttpResponse:
    if refused := too_large(request):
        return refused
    if not signature_valid(request):
        return HttpResponseForbidden("Invalid Twilio signature.")
    data = request.POST
    code = data.get("ErrorCode", "").strip()
    message_id = request.GET.get("m", "")  # ours, in the signed StatusCallback URL
    report = StatusReport(
        sid=data.get("MessageSid", "") or data.get("SmsSid", ""),
        status=data.get("MessageStatus", "") or data.get("SmsStatus", ""),
        error_code=int(code) if code.isdigit() and int(code) > 0 else None,
        message_id=int(message_id) if message_id.isdigit() else None,
    )
    try:
        message_status_update(report=report)
    except UNUSABLE:
        logger.exception("status report for %s could not be applied; acknowledged", report.sid)
    return HttpResponse(status=204)
