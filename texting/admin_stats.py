"""The campaign dashboard's numbers and charts (the results page of the back office).

Every number is one grouped statement over the campaign's contacts or messages, however many
there are; the charts are plain SVG built here, with no chart library.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q
from django.db.models.functions import TruncHour
from django.utils import timezone

from campaigns.models import Campaign, Contact, ContactStatus
from campaigns.selectors import texter_list_for_campaign
from texting.errors import describe
from texting.models import Direction, Message, MessageStatus

CHART_HOURS = 72
CHART_WIDTH = 720
CHART_HEIGHT = 160


@dataclass(frozen=True)
class Bar:
    label: str
    count: int
    percent: int
    note: str = ""
    css: str = ""


def _bars(rows: list[tuple[str, int, str, str]]) -> list[Bar]:
    top = max((count for _, count, _, _ in rows), default=0) or 1
    return [Bar(label, count, round(100 * count / top), note, css) for label, count, note, css in rows]


def message_overview(*, campaign: Campaign) -> dict[str, Any]:
    by_status: dict[tuple[str, str], int] = {
        (row["direction"], row["status"]): row["n"]
        for row in Message.objects.filter(campaign=campaign)
        .order_by()
        .values("direction", "status")
        .annotate(n=Count("id"))
    }

    def outbound(*statuses: str) -> int:
        return sum(by_status.get((Direction.OUTBOUND, status), 0) for status in statuses)

    sent = outbound(MessageStatus.SENT, MessageStatus.DELIVERED)
    failed = outbound(MessageStatus.FAILED, MessageStatus.UNDELIVERED)
    errors = list(
        Message.objects.filter(campaign=campaign, error_code__isnull=False)
        .order_by()
        .values("error_code")
        .annotate(n=Count("id"))
        .order_by("-n")
    )
    error_bars = []
    for row in errors:
        info = describe(row["error_code"])
        error_bars.append((str(row["error_code"]), row["n"], info.description if info else "", "bad"))
    contacts = Contact.objects.filter(campaign=campaign).aggregate(
        texted=Count("id", filter=~Q(status=ContactStatus.NEEDS_MESSAGE)),
        replied=Count("id", filter=Q(status__in=[ContactStatus.NEEDS_RESPONSE, ContactStatus.CONVO])),
    )
    replied_contacts = (
        Message.objects.filter(campaign=campaign, direction=Direction.INBOUND, contact__isnull=False)
        .order_by()
        .values("contact_id")
        .distinct()
        .count()
    )
    texted = contacts["texted"] or 0
    replies = by_status.get((Direction.INBOUND, MessageStatus.RECEIVED), 0)
    return {
        "sent": sent,
        "delivered": outbound(MessageStatus.DELIVERED),
        "failed": failed,
        "waiting": outbound(MessageStatus.QUEUED, MessageStatus.SENDING),
        "review": outbound(MessageStatus.REVIEW),
        "replies": replies,
        "replied_contacts": replied_contacts,
        "reply_rate": round(100 * replied_contacts / texted) if texted else 0,
        "texted": texted,
        "delivery_bars": _bars(
            [
                ("Sent", sent, "accepted by the carrier", ""),
                ("Delivered", outbound(MessageStatus.DELIVERED), "confirmed on the phone", "good"),
                ("Failed", failed, "failed or undelivered", "bad"),
                ("Waiting to send", outbound(MessageStatus.QUEUED, MessageStatus.SENDING), "in the outbox", ""),
                ("To check", outbound(MessageStatus.REVIEW), "may have been sent", "warn"),
            ]
        ),
        "error_bars": _bars(error_bars),
    }


def messages_per_hour(*, campaign: Campaign, now: dt.datetime | None = None) -> dict[str, Any]:
    """Sent and received messages per hour over the last `CHART_HOURS` hours, as SVG bars."""
    now = now or timezone.now()
    end = now.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)
    start = end - dt.timedelta(hours=CHART_HOURS)
    rows = (
        Message.objects.filter(campaign=campaign, created_at__gte=start)
        .annotate(hour=TruncHour("created_at", tzinfo=dt.UTC))
        .order_by()
        .values("hour", "direction")
        .annotate(n=Count("id"))
    )
    counts: dict[tuple[dt.datetime, str], int] = {}
    for row in rows:
        counts[(row["hour"], row["direction"])] = row["n"]
    hours = [start + dt.timedelta(hours=i) for i in range(CHART_HOURS)]
    top = max(counts.values(), default=0) or 1
    slot = CHART_WIDTH / CHART_HOURS
    bars = []
    for index, hour in enumerate(hours):
        out = counts.get((hour, Direction.OUTBOUND), 0)
        inbound = counts.get((hour, Direction.INBOUND), 0)
        x = index * slot
        local = timezone.localtime(hour)
        bars.append(
            {
                "x_out": round(x + 1, 1),
                "x_in": round(x + slot / 2, 1),
                "width": round(slot / 2 - 1, 1),
                "h_out": round(CHART_HEIGHT * out / top, 1),
                "h_in": round(CHART_HEIGHT * inbound / top, 1),
                "y_out": round(CHART_HEIGHT - CHART_HEIGHT * out / top, 1),
                "y_in": round(CHART_HEIGHT - CHART_HEIGHT * inbound / top, 1),
                "title": f"{local:%a %H}:00 — {out} sent, {inbound} received",
                "tick": local.strftime("%a %H:00") if local.hour % 12 == 0 else "",
                "tick_x": round(x, 1),
            }
        )
    return {
        "bars": bars,
        "top": top,
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "total": sum(counts.values()),
        "hours": CHART_HOURS,
    }


def texter_table(*, campaign: Campaign) -> list[dict[str, Any]]:
    sent = dict(
        Message.objects.filter(campaign=campaign, direction=Direction.OUTBOUND, texter__isnull=False)
        .exclude(status__in=[MessageStatus.CANCELLED, MessageStatus.FAILED])
        .order_by()
        .values_list("texter_id")
        .annotate(n=Count("id"))
    )
    rows = [row for row in texter_list_for_campaign(campaign=campaign) if row.assignment_id is not None]
    top = max((row.assigned for row in rows), default=0) or 1
    return [
        {
            "row": row,
            "messages_sent": sent.get(row.texter.pk, 0),
            "done_percent": round(100 * row.texted / row.assigned) if row.assigned else 0,
            "width": round(100 * row.assigned / top),
        }
        for row in rows
    ]


def needs_response_overdue(*, campaign: Campaign, now: dt.datetime | None = None) -> int:
    now = now or timezone.now()
    return (
        Contact.objects.filter(campaign=campaign)
        .needs_response()
        .filter(updated_at__lt=now - dt.timedelta(hours=campaign.response_window_hours))
        .count()
    )
