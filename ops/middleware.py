"""One middleware for what every request needs from operations, kept to microseconds:

- a request id: the caller's `X-Request-ID` when it is well-formed, else a new one; in every log
  line of the request (ops.logs) and in the response's `X-Request-ID` header;
- one access-log line per request (ACCESS_LOG), through the redacting log handler;
- the request's latency in the shared histogram (flushed to Redis at most once a second);
- the maintenance gate: while maintenance is on, writes to the texter app and the API answer 503
  with a human message. Webhooks, the back office (where the switch is) and logging in stay open.

No database statement, no network round trip on the common path.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

from ops.logs import request_id_var
from ops.maintenance import maintenance_get
from ops.metrics import histogram_observe

logger = logging.getLogger("spoke.access")

REQUEST_ID_HEADER = "X-Request-ID"
# A caller's id is kept only if it is short and plain, so it cannot forge log lines.
VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# Writes refused during maintenance. Webhooks are not here: the provider's reports are still stored.
GATED_PREFIXES = ("/texter/", "/api/")
# The latency histogram's `area` label: the first path segment, from a short known list.
AREAS = frozenset({"texter", "api", "webhooks", "admin", "accounts", "ws", "healthz", "readyz", "metrics"})


def request_id_for(request: HttpRequest) -> str:
    given = request.META.get("HTTP_X_REQUEST_ID", "")
    if given and VALID_REQUEST_ID.match(given):
        return given
    return uuid.uuid4().hex


def _area(path: str) -> str:
    first = path.split("/", 2)[1] if path.count("/") >= 1 else ""
    return first if first in AREAS else "other"


def maintenance_response(request: HttpRequest, message: str) -> HttpResponse:
    """503 with the notice: JSON for the API and the texter app's scripts, a page for a browser."""
    wants_json = (
        request.path.startswith("/api/")
        or "json" in request.headers.get("Accept", "")
        or (request.content_type == "application/json")
    )
    if wants_json:
        response: HttpResponse = JsonResponse({"detail": message, "error": message, "code": "maintenance"}, status=503)
    else:
        response = HttpResponse(render_to_string("ops/maintenance.html", {"message": message}), status=503)
    response["Retry-After"] = "120"
    # An expected refusal, not a server error: keep it out of django.request's ERROR lines.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


class OpsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        request_id = request_id_for(request)
        token = request_id_var.set(request_id)
        try:
            response = self._gate(request) or self.get_response(request)
            response[REQUEST_ID_HEADER] = request_id
            duration = time.perf_counter() - started
            histogram_observe("http_request_duration_seconds", duration, flush=False, area=_area(request.path))
            if settings.ACCESS_LOG:
                logger.info(
                    "%s %s %s %.1fms",
                    request.method,
                    request.path,
                    response.status_code,
                    duration * 1000,
                    extra={"status_code": response.status_code, "duration_ms": round(duration * 1000, 1)},
                )
            return response
        finally:
            request_id_var.reset(token)

    def _gate(self, request: HttpRequest) -> HttpResponse | None:
        if request.method in SAFE_METHODS or not request.path.startswith(GATED_PREFIXES):
            return None
        state = maintenance_get()
        if not state.enabled:
            return None
        return maintenance_response(request, state.message)
