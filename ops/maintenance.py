"""The maintenance switch (the original Spoke's DOWNTIME).

While it is on, texters see a notice, writes to the texter app and the API answer 503 with a
human message, webhooks keep being accepted and stored, and the outbox drain pauses (messages
stay queued and go out once it is off).

The row in the database is the truth; the cache (Redis in production, shared by every web process
and worker) holds a copy, so a request never pays a database statement to ask. Each process also
keeps its last answer for MAINTENANCE_CHECK_SECONDS, so a request costs no round trip either: a
change reaches every process within that second. A cache that lost the copy (Redis flushed or
restarted) reads as "off" until `maintenance_resync` (run by every outbox sweep) copies the row
back; a cache that is down falls back to the database. MAINTENANCE_MODE=true forces it on.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from ops.models import MaintenanceState

logger = logging.getLogger(__name__)

CACHE_KEY = "ops:maintenance"


@dataclass(frozen=True)
class Maintenance:
    enabled: bool
    message: str
    forced: bool = False  # by MAINTENANCE_MODE in the environment: the switch cannot turn it off


OFF = Maintenance(enabled=False, message="")

_memo: tuple[float, Maintenance] | None = None
_memo_lock = threading.Lock()


def _from_row(row: MaintenanceState | None) -> Maintenance:
    if row is None or not row.enabled:
        return OFF
    return Maintenance(enabled=True, message=row.message or settings.MAINTENANCE_MESSAGE)


def _encode(state: Maintenance) -> dict[str, object]:
    return {"enabled": state.enabled, "message": state.message}


def _read_shared() -> Maintenance:
    try:
        cached = cache.get(CACHE_KEY)
    except Exception:  # the cache is down: ask the database
        logger.warning("maintenance switch: cache unavailable, reading the database")
        return _from_row(MaintenanceState.objects.filter(pk=1).first())
    if not cached:
        return OFF
    return Maintenance(enabled=bool(cached.get("enabled")), message=str(cached.get("message", "")))


def maintenance_get() -> Maintenance:
    """Whether maintenance is on, and the notice to show. Microseconds: see the module docstring."""
    global _memo
    if settings.MAINTENANCE_MODE:
        return Maintenance(enabled=True, message=settings.MAINTENANCE_MESSAGE, forced=True)
    now = time.monotonic()
    memo = _memo
    if memo is not None and now - memo[0] < settings.MAINTENANCE_CHECK_SECONDS:
        return memo[1]
    state = _read_shared()
    with _memo_lock:
        _memo = (now, state)
    return state


def maintenance_active() -> bool:
    return maintenance_get().enabled


def _forget() -> None:
    global _memo
    with _memo_lock:
        _memo = None


def maintenance_set(*, enabled: bool, message: str = "", acting: str) -> Maintenance:
    """Turn maintenance on or off for every process: the row first, then the cached copy.

    `acting` names who did it (an email, or "manage.py"). Callers that own the outbox resume it
    after turning maintenance off (texting.monitoring.outbox_resume).
    """
    message = message.strip()[:300]
    row, _ = MaintenanceState.objects.update_or_create(
        pk=1,
        defaults={"enabled": enabled, "message": message, "changed_by": acting[:254], "changed_at": timezone.now()},
    )
    state = _from_row(row)
    cache.set(CACHE_KEY, _encode(state), timeout=None)
    _forget()
    logger.warning("maintenance switched %s by %s", "on" if enabled else "off", acting)
    return maintenance_get()


def maintenance_resync() -> None:
    """Copy the row back into the cache (after Redis lost it): one statement."""
    state = _from_row(MaintenanceState.objects.filter(pk=1).first())
    cache.set(CACHE_KEY, _encode(state), timeout=None)


def maintenance_row() -> MaintenanceState | None:
    """The row itself, for the system page (who flipped it and when)."""
    return MaintenanceState.objects.filter(pk=1).first()
