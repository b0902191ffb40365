"""Provider webhooks: signed, idempotent, one or two statements each."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator

from texting.providers.base import InboundSMS, StatusReport
from texting.services import message_receive, message_status_update

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def _signature_valid(request: HttpRequest) -> bool:
    token = settings.TWILIO_AUTH_TOKEN
    signature = request.headers.get("X-Twilio-Signature", "")
    if not token or not signature:
        return False
    # Twilio signs the public URL it called, which differs from ours behind a proxy.
    url = f"{settings.PUBLIC_BASE_URL}{request.get_full_path()}"
    return RequestValidator(token).validate(url, request.POST.dict(), signature)


@csrf_exempt
@require_POST
def twilio_inbound(request: HttpRequest) -> HttpResponse:
    if not _signature_valid(request):
        return HttpResponseForbidden("Invalid Twilio signature.")
    data = request.POST
    media_count = int(data.get("NumMedia", "0") or 0)
    message_receive(
        inbound=InboundSMS(
            sid=data.get("MessageSid", "") or data.get("SmsSid", ""),
            from_number=data.get("From", ""),
            to_number=data.get("To", ""),
            body=data.get("Body", ""),
            messaging_service_sid=data.get("MessagingServiceSid", ""),
            media_urls=[data[f"MediaUrl{i}"] for i in range(media_count) if f"MediaUrl{i}" in data],
            num_segments=int(data.get("NumSegments", "1") or 1),
        )
    )
    return HttpResponse(EMPTY_TWIML, content_type="text/xml")


@csrf_exempt
@require_POST
def twilio_status(request: HttpRequest) -> HttpResponse:
    if not _signature_valid(request):
        return HttpResponseForbidden("Invalid Twilio signature.")
    data = request.POST
    code = data.get("ErrorCode", "")
    message_status_update(
        report=StatusReport(
            sid=data.get("MessageSid", ""),
            status=data.get("MessageStatus", "") or data.get("SmsStatus", ""),
            error_code=int(code) if code.isdigit() else None,
        )
    )
    return HttpResponse(status=204)
