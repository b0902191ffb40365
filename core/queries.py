"""Small query-building helpers shared by the apps."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, IntegerField, QuerySet, Subquery
from django.db.models.functions import Coalesce


def count_subquery(queryset: QuerySet[Any], *, group_by: str) -> Coalesce:
    """`COUNT(*)` of `queryset` per outer row, as an annotation: one statement for a whole list page.

    `queryset` filters on an `OuterRef`; `group_by` is the field that OuterRef matches.
    """
    counted = queryset.order_by().values(group_by).annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def raw_datetime(value: Any) -> dt.datetime | None:
    """A datetime column read by raw SQL, as the ORM would give it: aware, in UTC.

    PostgreSQL hands back aware datetimes; SQLite hands raw queries text or naive values, stored in UTC.
    """
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if not isinstance(value, dt.datetime):
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value
