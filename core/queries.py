"""Small query-building helpers shared by the apps.

`columns_for` / `Columns.build` turn a row of hand-written SQL into model instances exactly as the
ORM would (each column through its field's and backend's converters, then `Model.from_db`): the
hot paths (texting/hot_sql.py, accounts/backends.py) build their statements once per process
instead of having the ORM compile them on every request.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Count, Field, IntegerField, Model, QuerySet, Subquery
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


Converter = Callable[[Any, Any, Any], Any]
Converted = tuple[tuple[int, tuple[Converter, ...], Any], ...]  # (column index, converters, expression)


@dataclass(frozen=True)
class Columns:
    """One model's slice of the row: its attnames and, per column, the converters to apply."""

    model: type[Model]
    attnames: tuple[str, ...]
    converters: Converted

    def build(self, row: Sequence[Any], start: int) -> Model:
        values = convert_row(row[start : start + len(self.attnames)], self.converters)
        return self.model.from_db(connection.alias, self.attnames, values)


def convert_row(values: Sequence[Any], converters: Converted) -> list[Any]:
    """`values` as the ORM's compiler would hand them over: each column through its converters."""
    converted = list(values)
    for index, column_converters, expression in converters:
        for convert in column_converters:
            converted[index] = convert(converted[index], expression, connection)
    return converted


def converters_for(fields: Sequence[Field[Any, Any]], alias: str) -> Converted:
    """The converters the ORM's compiler would apply to each column (backend's first, then the field's)."""
    found = []
    for index, field in enumerate(fields):
        expression = field.get_col(alias)
        converters = tuple(connection.ops.get_db_converters(expression)) + tuple(
            expression.get_db_converters(connection)
        )
        if converters:
            found.append((index, converters, expression))
    return tuple(found)


def columns_for(model: type[Model], alias: str) -> tuple[str, Columns]:
    fields = list(model._meta.concrete_fields)
    quote = connection.ops.quote_name
    select = ", ".join(f"{alias}.{quote(field.column)}" for field in fields)
    return select, Columns(model, tuple(field.attname for field in fields), converters_for(fields, alias))
