"""SQL for the send request and the inbound webhook, built once per process, not by the ORM per request.

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

The same holds, on a smaller scale, for the send's INSERT of the message and UPDATE of the
contact, and for the inbound reply's match query (the webhook's three statements): each shape is
built once and cached, values go through each field's `get_db_prep_save` as `save()`/`update()`
would. Measured with the test client on PostgreSQL + Redis (jobs enqueued), 500 requests each,
three runs on the shared 2-core box: a send request went from 5.4-6.0 to 2.7-3.1 ms of CPU (the
lock alone took it to ~2.6), an inbound webhook (form-encoded, as Twilio posts) from 3.4-3.6 to
2.0-2.1 ms.

Change a model's fields and nothing here needs editing: the columns come from `_meta`.
tests/test_hot_sql.py checks the objects against the ORM's, field by field. Use this only on the
paths a profile shows pay for it; everywhere else the ORM is clearer.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from django.db import connection
from django.db.models import Field, Model

from accounts.models import Membership, Organization, Role
from campaigns.models import Assignment, Campaign, Contact, InteractionStep
from core.queries import Columns, Converted, columns_for, convert_row, converters_for, execute_hot
from texting.models import Direction, Message

# Every role but suspended may text: a suspended member loses their contacts at once.
ACTIVE_ROLES: tuple[str, ...] = tuple(str(role) for role in Role if role != Role.SUSPENDED)


@dataclass(frozen=True)
class _LockStatement:
    sql: str
    parts: tuple[Columns, ...]  # contact, assignment, campaign, organization, in row order
    script_converters: Converted


@functools.cache
def _lock_statement(vendor: str, alias: str) -> _LockStatement:
    quote = connection.ops.quote_name

    def table(model: type[Model]) -> str:
        return quote(model._meta.db_table)

    contact_cols, contact = columns_for(Contact, "c")
    assignment_cols, assignment = columns_for(Assignment, "a")
    campaign_cols, campaign = columns_for(Campaign, "k")
    organization_cols, organization = columns_for(Organization, "o")
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
    return _LockStatement(sql, (contact, assignment, campaign, organization), converters_for([step_script], "s"))


def contact_lock_for_texter(*, texter_id: int, contact_id: int) -> Contact | None:
    """Lock the contact row if `texter_id` owns its assignment and is an active member of its
    organization: one statement. Returns the contact with `assignment`, `campaign` and
    `campaign.organization` loaded and the campaign's root script as `first_script`, or None."""
    statement = _lock_statement(connection.vendor, connection.alias)
    with connection.cursor() as cursor:
        execute_hot(cursor, statement.sql, [contact_id, texter_id, texter_id, *ACTIVE_ROLES])
        row = cursor.fetchone()
    if row is None:
        return None
    start = 0
    built = []
    for part in statement.parts:
        built.append(part.build(row, start))
        start += len(part.attnames)
    contact, assignment, campaign, organization = built
    [script] = convert_row(row[start:], statement.script_converters)
    campaign._state.fields_cache["organization"] = organization
    contact._state.fields_cache["assignment"] = assignment
    contact._state.fields_cache["campaign"] = campaign
    contact.first_script = script  # type: ignore[attr-defined]
    assert isinstance(contact, Contact)
    return contact


# --- Row writes: INSERT … RETURNING id and UPDATE by primary key, statements cached per shape ------


@functools.cache
def _insert_statement(
    vendor: str, alias: str, model: type[Model], skip_conflict_on: str
) -> tuple[str, tuple[Any, ...]]:
    fields = tuple(f for f in model._meta.concrete_fields if not f.primary_key)
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    conflict = f" ON CONFLICT ({quote(skip_conflict_on)}) DO NOTHING" if skip_conflict_on else ""
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({placeholders})"  # noqa: S608 (quoted names from _meta; values are params)
        f"{conflict} RETURNING {quote(model._meta.pk.column)}"  # type: ignore[union-attr]
    )
    return sql, fields


def row_insert(instance: Model, *, skip_conflict_on: str = "") -> bool:
    """Insert `instance` as `save()` would (defaults, auto_now_add, prepared values) in one statement,
    setting its primary key. With `skip_conflict_on` (a unique column), a row that already exists
    is left alone and False is returned. No signals are sent: the hot models have no receivers."""
    sql, fields = _insert_statement(connection.vendor, connection.alias, type(instance), skip_conflict_on)
    params = [f.get_db_prep_save(f.pre_save(instance, True), connection) for f in fields]
    with connection.cursor() as cursor:
        execute_hot(cursor, sql, params)
        row = cursor.fetchone()
    if row is None:
        return False
    instance.pk = row[0]
    instance._state.adding = False
    instance._state.db = connection.alias
    return True


@functools.cache
def _update_statement(
    vendor: str, alias: str, model: type[Model], assigned: tuple[str, ...], matched: tuple[str, ...]
) -> tuple[str, tuple[Any, ...]]:
    quote = connection.ops.quote_name
    meta = model._meta
    set_fields = tuple(cast("Field[Any, Any]", meta.get_field(name)) for name in assigned)
    where_fields = (cast("Field[Any, Any]", meta.pk), *(cast("Field[Any, Any]", meta.get_field(n)) for n in matched))
    assignments = ", ".join(f"{quote(f.column)} = %s" for f in set_fields)
    conditions = " AND ".join(f"{quote(f.column)} = %s" for f in where_fields)
    sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {conditions}"  # noqa: S608 (quoted names from _meta; values are params)
    return sql, set_fields + where_fields


def row_update(
    model: type[Model], *, pk: int | None, values: dict[str, Any], where: dict[str, Any] | None = None
) -> int:
    """`model.objects.filter(pk=pk, **where).update(**values)` for plain field values, in one
    statement built once per shape. Returns the number of rows changed."""
    where = where or {}
    sql, fields = _update_statement(connection.vendor, connection.alias, model, tuple(values), tuple(where))
    params = [
        field.get_db_prep_save(value, connection)
        for field, value in zip(fields, [*values.values(), pk, *where.values()], strict=True)
    ]
    with connection.cursor() as cursor:
        execute_hot(cursor, sql, params)
        return int(cursor.rowcount)


# --- The inbound reply's match -------------------------------------------------------------------

OUTBOUND = str(Direction.OUTBOUND.value)
assert OUTBOUND.isalpha()


@functools.cache
def _reply_match_statement(vendor: str, alias: str, by: str) -> str:
    quote = connection.ops.quote_name
    if by == "service":
        scope = f"m.{quote('messaging_service_sid')} = %s"
    elif by == "number":
        # Sent from a number rather than a service; messages queued before a from-number was recorded match too.
        scope = (
            f"m.{quote('messaging_service_sid')} = '' "
            f"AND (m.{quote('from_number')} = %s OR m.{quote('from_number')} = '')"
        )
    else:
        scope = "1 = 1"
    return (
        f"SELECT m.{quote('contact_id')}, m.{quote('campaign_id')}, m.{quote('organization_id')}, "  # noqa: S608 (quoted names from _meta; values are params)
        f"a.{quote('texter_id')} FROM {quote(Message._meta.db_table)} m "
        f"LEFT OUTER JOIN {quote(Contact._meta.db_table)} c ON c.{quote('id')} = m.{quote('contact_id')} "
        f"LEFT OUTER JOIN {quote(Assignment._meta.db_table)} a ON a.{quote('id')} = c.{quote('assignment_id')} "
        # The direction as a literal: a prepared statement's generic plan can use the partial index
        # `message_outbound_to_service` (WHERE direction = 'out') only for a literal.
        f"WHERE m.{quote('direction')} = '{OUTBOUND}' AND m.{quote('to_number')} = %s AND {scope} "
        f"ORDER BY m.{quote('id')} DESC LIMIT 1"
    )


@dataclass(frozen=True)
class ReplyMatch:
    contact_id: int | None
    campaign_id: int | None
    organization_id: int  # every outbound message is queued with its organization
    texter_id: int | None


def reply_match(*, from_number: str, to_number: str, messaging_service_sid: str) -> ReplyMatch | None:
    """The last message we sent to `from_number` from that messaging service (or, without one, from
    that number), with its contact's texter: one statement, built once per shape."""
    if messaging_service_sid:
        by, params = "service", [from_number, messaging_service_sid]
    elif to_number:
        by, params = "number", [from_number, to_number]
    else:
        by, params = "any", [from_number]
    with connection.cursor() as cursor:
        execute_hot(cursor, _reply_match_statement(connection.vendor, connection.alias, by), params)
        row = cursor.fetchone()
    return None if row is None else ReplyMatch(*row)


# --- The delivery report ---------------------------------------------------------------------------

REPORT_RETURNING = ("contact_id", "organization_id", "texter_id", "campaign_id", "sent_at")


@dataclass(frozen=True)
class ReportApplied:
    contact_id: int | None
    organization_id: int | None
    texter_id: int | None
    campaign_id: int | None
    sent_at: Any  # as the database returned it (core.queries.raw_datetime reads it)


@functools.cache
def _report_statement(vendor: str, alias: str, by_id: bool, setting: tuple[str, ...], earlier: int) -> str:
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(name)} = %s" for name in setting)
    if by_id:
        # By our id (from the StatusCallback URL): the SID may not be recorded yet, but if it is, it must match.
        found = (
            f"{quote('id')} = %s AND {quote('direction')} = %s "
            f"AND ({quote('provider_sid')} = %s OR {quote('provider_sid')} IS NULL)"
        )
    else:
        found = f"{quote('provider_sid')} = %s"
    statuses = ", ".join(["%s"] * earlier)
    returning = ", ".join(quote(column) for column in REPORT_RETURNING)
    return (
        f"UPDATE {quote(Message._meta.db_table)} SET {assignments} "  # noqa: S608 (quoted names from _meta; values are params)
        f"WHERE {found} AND {quote('status')} IN ({statuses}) RETURNING {returning}"
    )


def report_apply(
    *, sid: str, message_id: int | None, values: dict[str, Any], earlier: Sequence[str]
) -> list[ReportApplied]:
    """Set `values` on the outbound message a delivery report is about, if its status is one of
    `earlier` (a report never moves a message backwards): one statement, built once per shape.
    Found by `message_id` when the report carries it (recording `sid` then), else by `sid`."""
    if message_id is not None:
        values = {**values, "provider_sid": sid}
    fields = [cast("Field[Any, Any]", Message._meta.get_field(name)) for name in values]
    params = [field.get_db_prep_save(value, connection) for field, value in zip(fields, values.values(), strict=True)]
    if message_id is not None:
        params += [message_id, Direction.OUTBOUND.value, sid]
    else:
        params.append(sid)
    params += list(earlier)
    sql = _report_statement(connection.vendor, connection.alias, message_id is not None, tuple(values), len(earlier))
    with connection.cursor() as cursor:
        execute_hot(cursor, sql, params)
        return [ReportApplied(*row) for row in cursor.fetchall()]


# --- The outbox's re-check at send time ------------------------------------------------------------


@dataclass(frozen=True)
class SenderRow:
    contact_id: int
    is_opted_out: bool
    campaign_is_archived: bool
    send_rate_per_second: int | None
    twilio_account_sid: str
    twilio_auth_token: str


@functools.cache
def _sender_statement(vendor: str, alias: str, count: int) -> str:
    quote = connection.ops.quote_name
    # One text for any batch on PostgreSQL (an array), so it is prepared once; SQLite lists the ids.
    ids = "= ANY(%s::bigint[])" if vendor == "postgresql" else f"IN ({', '.join(['%s'] * count)})"
    return (
        f"SELECT c.{quote('id')}, c.{quote('is_opted_out')}, k.{quote('is_archived')}, "  # noqa: S608 (quoted names from _meta; values are params)
        f"o.{quote('send_rate_per_second')}, o.{quote('twilio_account_sid')}, o.{quote('twilio_auth_token')} "
        f"FROM {quote(Contact._meta.db_table)} c "
        f"INNER JOIN {quote(Campaign._meta.db_table)} k ON k.{quote('id')} = c.{quote('campaign_id')} "
        f"INNER JOIN {quote(Organization._meta.db_table)} o ON o.{quote('id')} = k.{quote('organization_id')} "
        f"WHERE c.{quote('id')} {ids}"
    )


def sender_rows(contact_ids: Sequence[int]) -> dict[int, SenderRow]:
    """What the outbox re-reads at send time about the batch's contacts: one statement."""
    if not contact_ids:
        return {}
    postgresql = connection.vendor == "postgresql"
    sql = _sender_statement(connection.vendor, connection.alias, 0 if postgresql else len(contact_ids))
    with connection.cursor() as cursor:
        execute_hot(cursor, sql, [list(contact_ids)] if postgresql else list(contact_ids))
        return {row[0]: SenderRow(row[0], bool(row[1]), bool(row[2]), *row[3:]) for row in cursor.fetchall()}
