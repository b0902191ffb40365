"""RQ jobs. Thin: each takes JSON primitives and calls one service."""

from __future__ import annotations

from texting.outbox import outbox_drain


def drain_outbox(*, messaging_service_sid: str) -> int:
    return outbox_drain(messaging_service_sid=messaging_service_sid)
