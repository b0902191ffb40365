"""What every SMS provider takes and returns: plain values, nothing of our models."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol


class FailureKind(Enum):
    PERMANENT = "permanent"  # the provider refused it; sending again would fail again
    TRANSIENT = "transient"  # refused before acceptance (429, 5xx, connection refused): safe to retry
    AMBIGUOUS = "ambiguous"  # may have been accepted (timeout after sending): never resend blindly


class ProviderError(Exception):
    def __init__(self, message: str, *, kind: FailureKind, code: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.code = code


@dataclass(frozen=True)
class OutboundSMS:
    to: str
    body: str
    messaging_service_sid: str = ""
    from_number: str = ""
    status_callback: str = ""
    send_before: dt.datetime | None = None


@dataclass(frozen=True)
class SendResult:
    sid: str
    status: str  # the provider's word: "queued", "accepted", "sent"


@dataclass(frozen=True)
class InboundSMS:
    """A message from a contact, however it reached us (webhook or the fake provider)."""

    sid: str
    from_number: str
    to_number: str
    body: str
    messaging_service_sid: str = ""
    media_urls: list[str] = field(default_factory=list)
    num_segments: int = 1


@dataclass(frozen=True)
class StatusReport:
    sid: str
    status: str  # queued, sending, sent, delivered, undelivered, failed
    error_code: int | None = None
    # Our message id, carried in the StatusCallback URL: a report may arrive before the worker
    # has written the provider SID it got back (results are written per batch).
    message_id: int | None = None


class Provider(Protocol):
    name: str

    def send(self, message: OutboundSMS) -> SendResult: ...

    def reactions(self, message: OutboundSMS, result: SendResult) -> tuple[list[StatusReport], list[InboundSMS]]:
        """What the provider will call back about this message (only the fake provider knows now)."""
        ...
