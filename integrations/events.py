"""Emitting integration events from the services, at no cost when nobody listens.

Services call `event_emit(...)` once per event. Which events each organization's active
endpoints want is kept in Django's cache (Redis in production, so every process sees the same),
filled on a miss and dropped whenever an endpoint is saved or deleted. With no endpoint
subscribed to an event anywhere, emitting it is one cache read and no database statement: the
hot paths (delivery reports, inbound replies) stay within their query budgets.

`organization_id` and `payload` may be callables: they are only called when some endpoint of
the organization wants the event, so a caller need not load anything for nobody.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from core.jobs import enqueue

ANY_KEY = "integrations:events:any"
_ORG_KEY = "integrations:events:org:{}"


def _org_key(organization_id: int) -> str:
    return _ORG_KEY.format(organization_id)


def _collect(rows: Iterable[Any]) -> frozenset[str]:
    return frozenset(event for events in rows if isinstance(events, list) for event in events)


def subscribed_events_anywhere() -> frozenset[str]:
    """Events some active endpoint of any organization wants (cached)."""
    events = cache.get(ANY_KEY)
    if events is None:
        from integrations.models import WebhookEndpoint

        events = _collect(WebhookEndpoint.objects.filter(is_active=True).values_list("events", flat=True))
        cache.set(ANY_KEY, events, timeout=None)
    return frozenset(events)


def subscribed_events(*, organization_id: int) -> frozenset[str]:
    """Events the organization's active endpoints want (cached)."""
    key = _org_key(organization_id)
    events = cache.get(key)
    if events is None:
        from integrations.models import WebhookEndpoint

        events = _collect(
            WebhookEndpoint.objects.filter(organization_id=organization_id, is_active=True).values_list(
                "events", flat=True
            )
        )
        cache.set(key, events, timeout=None)
    return frozenset(events)


def subscriptions_changed(*, organization_id: int) -> None:
    """Forget the cached subscriptions (an endpoint was added, changed or removed): now and
    again on commit, so a request that filled the cache with the old rows meanwhile is undone."""

    def forget() -> None:
        cache.delete_many([ANY_KEY, _org_key(organization_id)])

    forget()
    transaction.on_commit(forget)


def subscriptions_assume_none() -> None:
    """Record that no endpoint exists anywhere (an empty database: tests, a fresh install)."""
    cache.set(ANY_KEY, frozenset(), timeout=None)


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
    if event not in subscribed_events_anywhere():
        return
    org_id = organization_id() if callable(organization_id) else organization_id
    if org_id is None or event not in subscribed_events(organization_id=org_id):
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
