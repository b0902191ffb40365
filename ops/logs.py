"""Log records with the request's id, secrets masked, and an optional JSON format.

The request id lives in a context variable: the middleware sets it for each HTTP request and the
RQ worker for each job (`job-<id>`), so every line a request or job writes carries it, across
threads that copy the context (Django's sync_to_async does).

Secrets are kept out in two ways: code never logs message bodies, tokens or passwords, and this
filter masks what slips through anyway (Authorization headers, token and password parameters,
session cookies, join-link tokens, and the literal values of the configured secrets).
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import re
import traceback
from functools import lru_cache

from django.conf import settings

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("spoke_request_id", default="-")

REDACTED = "[redacted]"

# (pattern, replacement): each keeps the name and masks the value.
PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # Authorization: Token abc / Bearer abc / Basic abc (headers, curl lines, reprs)
    (re.compile(r"\b(Token|Bearer|Basic)(\s+)[A-Za-z0-9._~+/=-]{8,}"), rf"\1\2{REDACTED}"),
    # password=..., auth_token: ..., "secret": "..." in query strings, forms, dict reprs, JSON
    (
        re.compile(
            r"(?i)([\"']?\b[\w-]*(?:password|passwd|secret|auth_?token|api_?key|access_?key|token|sessionid|csrftoken)"
            r"[\w-]*[\"']?\s*[=:]\s*[\"']?)([^\s&\"',;}]+)"
        ),
        rf"\1{REDACTED}",
    ),
    # Join links are capabilities: /texter/join/<token>/ and /accounts/join/<token>/
    (re.compile(r"(/join/)[^/\s?\"']+"), rf"\1{REDACTED}"),
]


@lru_cache(maxsize=8)
def _literal_secrets(*values: str) -> re.Pattern[str] | None:
    secrets = sorted({v for v in values if v and len(v) >= 8}, key=len, reverse=True)
    if not secrets:
        return None
    return re.compile("|".join(re.escape(v) for v in secrets))


def redact(text: str) -> str:
    """`text` with every known kind of secret masked."""
    for pattern, replacement in PATTERNS:
        text = pattern.sub(replacement, text)
    literal = _literal_secrets(
        getattr(settings, "TWILIO_AUTH_TOKEN", ""),
        getattr(settings, "SECRET_KEY", ""),
        getattr(settings, "METRICS_TOKEN", ""),
    )
    if literal is not None:
        text = literal.sub(REDACTED, text)
    return text


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class RedactingFilter(logging.Filter):
    """Masks secrets in the message, its arguments and the exception text before any handler writes it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info))
        record.msg, record.args = redact(message), None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
            record.exc_info = None  # formatters print exc_text instead
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, and the exception."""

    # Extra attributes worth keeping; anything else (e.g. Django's `request` object) is left out.
    EXTRA = ("status_code", "method", "path", "duration_ms", "job_id")

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
            "process": record.process,
        }
        for name in self.EXTRA:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_text:
            entry["exception"] = record.exc_text
        elif record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)
