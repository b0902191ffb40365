"""Small query-building helpers shared by the apps."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, IntegerField, QuerySet, Subquery
from django.db.models.functions import Coalesce


def count_subquery(queryset: QuerySet[Any], *, group_by: str) -> Coalesce:
    """`COUNT(*)` of `queryset` per outer row, as an annotation: one statement for a whole list page.

    `queryset` filters on an `OuterRef`; `group_by` is the field that OuterRef matches.
    """
    counted = queryset.order_by().values(group_by).annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)
