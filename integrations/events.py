"""Emitting integration events from the services, at no cost when nobody listens.

Services call `event_emit(...)` once per event. Which events each organization's active
endpoints want is kept in Django's cache (Redis in production, so every process sees the same),
filled on a miss and dropped whenever an endpoint is saved or deleted, and each process keeps its
copy for a second (LOCAL_SECONDS). With no endpoint
subscribed to an event anywhere, emitting it is one cache read and no database statement: the
hot paths (delivery reports, inbound replies) stay within their query budgets.

`organization_id` and `payload` may be callables: they are only called when some endpoint of
the organization wants the event, so a caller need not load anything for nobody.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from core.jobs import enqueue

# One cache entry: organization id -> the events its active endpoints want. Only organizations
# with endpoints appear, so it stays small, and one read answers both "does anyone want this
# event?" and "does this organization?".
SUBSCRIPTIONS_KEY = "integrations:subscriptions"


# Each process keeps what it read for this long: a delivery report or a reply then reads nothing
# at all. A change made in this process applies at once; made in another, within this delay.
LOCAL_SECONDS = 1.0
_local: tuple[float, dict[int, frozenset[str]]] | None = None


def subscriptions() -> dict[int, frozenset[str]]:
    """Every organization's subscribed events (cached; one statement to rebuild)."""
    global _local
    now = time.monotonic()
    if _local is not None and now - _local[0] < LOCAL_SECONDS:
        return _local[1]
    cached = cache.get(SUBSCRIPTIONS_KEY)
    if cached is None:
        from integrations.models import WebhookEndpoint

        built: dict[int, set[str]] = {}
        for organization_id, events in WebhookEndpoint.objects.filter(is_active=True).values_list(
            "organization_id", "events"
        ):
            built.setdefault(organization_id, set()).update(e for e in events or [] if isinstance(e, str))
        cached = {org_id: frozenset(events) for org_id, events in built.items() if events}
        cache.set(SUBSCRIPTIONS_KEY, cached, timeout=None)
    _local = (now, cached)
    return cached  # type: ignore[no-any-return]


def subscribed_events_anywhere() -> frozenset[str]:
    return frozenset().union(*subscriptions().values())


def subscribed_events(*, organization_id: int) -> frozenset[str]:
    return subscriptions().get(organization_id, frozenset())


def subscriptions_changed(*, organization_id: int | None = None) -> None:
    """Forget the cached subscriptions (an endpoint was added, changed or removed): now and
    again on commit, so a request that refilled the cache from the old rows meanwhile is undone."""

    def forget() -> None:
        global _local
        cache.delete(SUBSCRIPTIONS_KEY)
        _local = None

    forget()
    transaction.on_commit(forget)


def subscriptions_assume_none() -> None:
    """Record that no endpoint exists anywhere (an empty database: tests, a fresh install)."""
    global _local
    cache.set(SUBSCRIPTIONS_KEY, {}, timeout=None)
    _local = None


def event_wanted_anywhere(event: str) -> bool:
    return event in subscribed_events_anywhere()


def event_emit(
    *,
    organization_id: int | Callable[[], int | None] | None,
    event: str,
    payload: Mapping[str, Any] | Callable[[], Mapping[str, Any]],
) -> None:
    """Send `event` with `payload` (JSON values) to the organization's endpoints that want it,
    once the current transaction commits. Does nothing, and reads nothing from the database,
    when no endpoint anywhere wants the event."""
    wanted = subscriptions()
    if not any(event in events for events in wanted.values()):
        return
    org_id = organization_id() if callable(organization_id) else organization_id
    if org_id is None or event not in wanted.get(org_id, frozenset()):
        return
    data = dict(payload() if callable(payload) else payload)
    from integrations import jobs

    enqueue(
        jobs.webhook_event_fan_out,
        organization_id=org_id,
        event=event,
        payload=data,
        occurred_at=timezone.now().isoformat(),
    )
