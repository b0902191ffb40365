"""SQL for the send path, built once per process instead of by the ORM on every request.

Why the hot path skips the ORM here: the benchmark (`manage.py bench`, issue 9) measured about
6 ms of web-process CPU per texter send, and the targets need about half. Profiled through the
test client (PostgreSQL + Redis, jobs enqueued), most of the Python time in a send was the ORM
*compiling* SQL, not running it: the contact lock alone (select_for_update + select_related of
three tables + the root-script subquery + the membership check) cost ~2.5 ms of query
compilation per call. The statement never changes, so it is built here once per process and
database (from the models' `_meta`, names quoted by the backend), run with parameters, and its
row is turned into model instances exactly as the ORM would: each column through its field's
and its backend's converters (JSON, SQLite's booleans and datetimes), then `Model.from_db`,
with the related objects wired into the fields cache, so callers see the same objects as before.

Change a model's fields and nothing here needs editing: the columns come from `_meta`.
tests/test_hot_sql.py checks the objects against the ORM's, field by field.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Field, Model

from accounts.models import Membership, Organization, Role
from campaigns.models import Assignment, Campaign, Contact, InteractionStep

# Every role but suspended may text: a suspended member loses their contacts at once.
ACTIVE_ROLES: tuple[str, ...] = tuple(str(role) for role in Role if role != Role.SUSPENDED)

Converter = Callable[[Any, Any, Any], Any]
Converted = tuple[tuple[int, tuple[Converter, ...], Any], ...]  # (column index, converters, expression)


@dataclass(frozen=True)
class _Columns:
    """One model's slice of the row: its attnames and, per column, the converters to apply."""

    model: type[Model]
    attnames: tuple[str, ...]
    converters: Converted

    def build(self, row: Sequence[Any], start: int) -> Model:
        values = list(row[start : start + len(self.attnames)])
        for index, converters, expression in self.converters:
            value = values[index]
            for convert in converters:
                value = convert(value, expression, connection)
            values[index] = value
        return self.model.from_db(connection.alias, self.attnames, values)


def _converters_for(
    fields: Sequence[Field[Any, Any]], alias: str
) -> tuple[tuple[int, tuple[Converter, ...], Any], ...]:
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


def _columns(model: type[Model], alias: str) -> tuple[str, _Columns]:
    fields = list(model._meta.concrete_fields)
    quote = connection.ops.quote_name
    select = ", ".join(f"{alias}.{quote(field.column)}" for field in fields)
    return select, _Columns(model, tuple(field.attname for field in fields), _converters_for(fields, alias))


@dataclass(frozen=True)
class _LockStatement:
    sql: str
    parts: tuple[_Columns, ...]  # contact, assignment, campaign, organization, in row order
    script_converters: Converted


@functools.cache
def _lock_statement(vendor: str, alias: str) -> _LockStatement:
    quote = connection.ops.quote_name

    def table(model: type[Model]) -> str:
        return quote(model._meta.db_table)

    contact_cols, contact = _columns(Contact, "c")
    assignment_cols, assignment = _columns(Assignment, "a")
    campaign_cols, campaign = _columns(Campaign, "k")
    organization_cols, organization = _columns(Organization, "o")
    step_script = InteractionStep._meta.get_field("script")
    roles = ", ".join(["%s"] * len(ACTIVE_ROLES))
    # FOR UPDATE OF the contact only: the campaign and organization rows are read by every send.
    lock = " FOR UPDATE OF c" if connection.features.has_select_for_update_of else ""
    if connection.features.has_select_for_update and not lock:
        lock = " FOR UPDATE"
    sql = (
        f"SELECT {contact_cols}, {assignment_cols}, {campaign_cols}, {organization_cols}, "  # noqa: S608 (quoted names from _meta; values are params)
        f"(SELECT s.{quote('script')} FROM {table(InteractionStep)} s "
        f"WHERE s.{quote('campaign_id')} = c.{quote('campaign_id')} AND s.{quote('parent_id')} IS NULL "
        f"ORDER BY s.{quote('position')} ASC, s.{quote('id')} ASC LIMIT 1) "
        f"FROM {table(Contact)} c "
        f"INNER JOIN {table(Assignment)} a ON a.{quote('id')} = c.{quote('assignment_id')} "
        f"INNER JOIN {table(Campaign)} k ON k.{quote('id')} = c.{quote('campaign_id')} "
        f"INNER JOIN {table(Organization)} o ON o.{quote('id')} = k.{quote('organization_id')} "
        f"WHERE c.{quote('id')} = %s AND a.{quote('texter_id')} = %s "
        f"AND EXISTS (SELECT 1 FROM {table(Membership)} m WHERE m.{quote('organization_id')} = o.{quote('id')} "
        f"AND m.{quote('user_id')} = %s AND m.{quote('role')} IN ({roles})){lock}"
    )
    return _LockStatement(sql, (contact, assignment, campaign, organization), _converters_for([step_script], "s"))


def contact_lock_for_texter(*, texter_id: int, contact_id: int) -> Contact | None:
    """Lock the contact row if `texter_id` owns its assignment and is an active member of its
    organization: one statement. Returns the contact with `assignment`, `campaign` and
    `campaign.organization` loaded and the campaign's root script as `first_script`, or None."""
    statement = _lock_statement(connection.vendor, connection.alias)
    with connection.cursor() as cursor:
        cursor.execute(statement.sql, [contact_id, texter_id, texter_id, *ACTIVE_ROLES])
        row = cursor.fetchone()
    if row is None:
        return None
    start = 0
    built = []
    for part in statement.parts:
        built.append(part.build(row, start))
        start += len(part.attnames)
    contact, assignment, campaign, organization = built
    script = row[start]
    for _index, converters, expression in statement.script_converters:
        for convert in converters:
            script = convert(script, expression, connection)
    campaign._state.fields_cache["organization"] = organization
    contact._state.fields_cache["assignment"] = assignment
    contact._state.fields_cache["campaign"] = campaign
    contact.first_script = script  # type: ignore[attr-defined]
    assert isinstance(contact, Contact)
    return contact
