"""Publish small live-update events to Channels groups once the transaction commits.

Groups are named `texter.<user id>` and `campaign.<id>`. Payloads carry ids and counts only;
a page fetches whatever else it needs.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import get_channel_layer
from django.core.cache import cache
from django.db import transaction

from core.cache import add_or_get

logger = logging.getLogger(__name__)


def texter_group(user_id: int) -> str:
    return f"texter.{user_id}"


def campaign_group(campaign_id: int) -> str:
    return f"campaign.{campaign_id}"


def sessions_group(user_id: int) -> str:
    """Every open socket of one user, whatever page it serves (core.consumers joins it)."""
    return f"sessions.{user_id}"


def publish_on_commit(group: str, event: str, **payload: Any) -> None:
    _send_on_commit(group, {"type": "live.event", "event": event, "payload": payload}, event)


def publish_to_groups_on_commit(groups: Iterable[str], event: str, **payload: Any) -> None:
    """The same event to many groups (a thousand texters handed contacts at once): after commit,
    every send goes out through one event loop and its one connection, instead of a loop and a
    connection per group (milliseconds each)."""
    targets = list(groups)
    if not targets:
        return
    message = {"type": "live.event", "event": event, "payload": payload}

    def _send() -> None:
        layer = get_channel_layer()
        if layer is None:
            return

        async def send_all() -> None:
            sent = 0
            try:
                for group in targets:
                    await layer.group_send(group, message)
                    sent += 1
            except Exception:  # a lost live update must never fail the write that caused it
                # The layer is down or failing: the remaining groups would only wait out the same error.
                logger.exception(
                    "live update %s failed: %d of %d groups not told", event, len(targets) - sent, len(targets)
                )

        _dispatch(send_all)

    transaction.on_commit(_send)


def _send_on_commit(group: str, message: dict[str, Any], label: str) -> None:
    def _send() -> None:
        _group_send(group, message, label)

    transaction.on_commit(_send)


def _group_send(group: str, message: dict[str, Any], label: str) -> None:
    layer = get_channel_layer()
    if layer is None:
        return

    async def send() -> None:
        try:
            await layer.group_send(group, message)
        except Exception:  # a lost live update must never fail the write that caused it
            logger.exception("live update %s to %s failed", label, group)

    _dispatch(send)


def _dispatch(send: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run a live update's sends (a coroutine that logs its own failures) from wherever we are:
    - inside an event loop: as a task on it, not blocking it;
    - on a web process's Django thread (core.asgi): handed to the server's loop, which sends while
      this thread answers the request (waiting for it through async_to_sync cost an inbound reply a
      fifth of its CPU in cross-thread handoffs, for an event the page gets either way);
    - elsewhere (workers, commands): to completion before returning.
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    if loop is not None:
        loop.create_task(send())
    elif (server_loop := _server_loop()) is not None:
        asyncio.run_coroutine_threadsafe(send(), server_loop)
    else:
        async_to_sync(send)()


def _server_loop() -> asyncio.AbstractEventLoop | None:
    """The running event loop of the server whose thread this is, if any (what asgiref records)."""
    loop = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
    if loop is None or getattr(SyncToAsync.threadlocal, "main_event_loop_pid", None) != os.getpid():
        return None
    return loop if loop.is_running() and not loop.is_closed() else None


# A campaign's dashboard hears "the numbers changed" at most once per this many seconds, however
# many messages are sent, delivered or answered: the page waits this long before it re-reads them,
# so whatever changed inside the window is on the page without a second event.
STATS_WINDOW_SECONDS = 2


def stats_window_key(campaign_id: int) -> str:
    return f"live:stats:{campaign_id}"


# Once this process knows when a campaign's current window closes, it stops asking Redis until
# then, less this margin for the clocks of different machines (NTP keeps them milliseconds apart).
# The page fetches a window after the event reached it, later than the window's end on the server.
# In the margin every change asks Redis again, so it is kept small.
WINDOW_MARGIN_SECONDS = 0.1
_windows_close: dict[int, float] = {}  # campaign id -> when its open window closes (time.time())


def publish_stats_changed(*, campaign_id: int | None) -> None:
    """Tell the campaign's dashboard its numbers changed, coalesced per campaign across every process.

    Costs no SQL: once the transaction commits, an add to the cache (Redis in production, shared
    by every web process and worker) lets the first change of a window through and drops the
    others. The event carries the window so the page can wait it out before fetching (no change
    is missed). The add returns when the open window started, so each process then skips the
    cache altogether until that window closes: one round trip per window per process, not one
    per send, reply and delivery report.
    """
    if campaign_id is None:
        return

    def _send() -> None:
        now = time.time()
        if _windows_close.get(campaign_id, 0.0) > now:
            return  # a window this process knows of is open: its event covers this change
        try:
            first, opened_at = add_or_get(cache, stats_window_key(campaign_id), now, timeout=STATS_WINDOW_SECONDS)
        except Exception:  # the cache is down: an extra refresh beats a stale dashboard
            logger.exception("live stats window for campaign %s could not be checked", campaign_id)
            first, opened_at = True, None
        started = now if first else opened_at
        if isinstance(started, float):
            if len(_windows_close) > 10_000:
                _windows_close.clear()
            _windows_close[campaign_id] = started + STATS_WINDOW_SECONDS - WINDOW_MARGIN_SECONDS
        if first:
            message = {
                "type": "live.event",
                "event": "stats_changed",
                "payload": {"campaign_id": campaign_id, "window": STATS_WINDOW_SECONDS},
            }
            _group_send(campaign_group(campaign_id), message, "stats_changed")

    transaction.on_commit(_send)


def stats_windows_forget() -> None:
    """Forget the windows this process knows of (tests, which move the clock)."""
    _windows_close.clear()


def disconnect_texter_on_commit(*, user_id: int) -> None:
    """Ask every open websocket of the user (texter pages and back-office campaign pages) to check
    their access again and close if they lost it."""
    _send_on_commit(sessions_group(user_id), {"type": "membership.revoked"}, "membership_revoked")


def close_sockets_on_commit(*, user_id: int) -> None:
    """Close every open websocket of the user (their sessions were ended)."""
    _send_on_commit(sessions_group(user_id), {"type": "sessions.ended"}, "sessions_ended")


REASSIGNED_IDS_LIMIT = 500


def publish_contacts_reassigned(*, texter_id: int, campaign_id: int, contact_ids: list[int]) -> None:
    """Tell a texter's pages that these contacts are no longer theirs: the page showing one of them
    says so and moves on. Past a few hundred ids the page just re-checks the contact it shows."""
    ids = contact_ids if len(contact_ids) <= REASSIGNED_IDS_LIMIT else []
    publish_on_commit(texter_group(texter_id), "contacts_reassigned", campaign_id=campaign_id, contact_ids=ids)
