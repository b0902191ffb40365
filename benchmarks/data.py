"""The benchmark's data: an organization, texters with logged-in sessions, campaigns of N contacts.

Made with set-based SQL (INSERT … SELECT generate_series) so that 100,000 contacts take a
second, not minutes: these are fixtures, not the import being measured (scenario `bulk` times
the real import service).
"""

from __future__ import annotations

import csv
import random
from importlib import import_module
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.hashers import make_password
from django.db import connection, models
from django.utils import timezone

from accounts.models import Membership, Organization, Role, User
from benchmarks.environment import MESSAGING_SERVICE
from campaigns.models import Assignment, Campaign, Contact, ContactStatus, InteractionStep
from texting.models import Direction, Message, MessageStatus

SCRIPT = (
    "Hi {firstName}, this is {texterFirstName} with the Benchmark League. "
    "Can we count on your vote? Reply STOP to opt out."
)
BENCH_PASSWORD = "benchmark-texter-password"  # noqa: S105 (benchmark users in the benchmark database)


def organization_create(name: str = "Benchmark League") -> Organization:
    # Texting hours off, so the figures do not depend on the hour the benchmark runs at, and a
    # send rate high enough that the pipeline, not the limiter, is what gets measured.
    return Organization.objects.create(
        name=name, texting_hours_enforced=False, messaging_service_sid=MESSAGING_SERVICE, send_rate_per_second=100_000
    )


def texters_create(*, organization: Organization, count: int, prefix: str = "texter") -> list[User]:
    password = make_password(BENCH_PASSWORD)  # one hash for all: hashing 1,000 would take minutes
    users = User.objects.bulk_create(
        [
            User(email=f"{prefix}{i}@bench.example.com", first_name=f"T{i}", last_name="Bench", password=password)
            for i in range(count)
        ]
    )
    Membership.objects.bulk_create(
        [Membership(user=user, organization=organization, role=Role.TEXTER) for user in users]
    )
    return users


def session_cookies(users: list[User]) -> dict[int, str]:
    """A logged-in session for each user, through the configured session engine: user id → cookie value."""
    engine = import_module(settings.SESSION_ENGINE)
    backend = settings.AUTHENTICATION_BACKENDS[0]
    cookies = {}
    for user in users:
        store = engine.SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = backend
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        cookies[user.pk] = str(store.session_key)
    return cookies


def _quoted(model: type[models.Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _insert_select(
    model: type[models.Model], expressions: dict[str, tuple[str, list[Any]]], tail: str, params: list[Any]
) -> int:
    """INSERT INTO model's table SELECT …: `expressions` maps a column to (SQL, its parameters);
    every other column gets its field's default."""
    columns, selects, values = [], [], []
    for f in model._meta.concrete_fields:
        if f.primary_key:
            continue
        columns.append(connection.ops.quote_name(f.column))
        if f.column in expressions:
            expression, expression_params = expressions[f.column]
            selects.append(expression)
            values.extend(expression_params)
            continue
        default = f.get_default() if f.has_default() else (None if f.null else "")
        if isinstance(f, models.DateTimeField) and default in (None, "") and not f.null:
            default = timezone.now()
        selects.append("%s")
        values.append(f.get_db_prep_save(default, connection))
    sql = f"INSERT INTO {_quoted(model)} ({', '.join(columns)}) SELECT {', '.join(selects)} {tail}"
    with connection.cursor() as cursor:
        cursor.execute(sql, values + params)
        return int(cursor.rowcount)


def campaign_create(*, organization: Organization, title: str, contacts: int, cell_base: int) -> Campaign:
    """A started campaign with a one-step script and `contacts` contacts whose cells are
    +1 followed by cell_base + 1 … cell_base + contacts (give each campaign its own range)."""
    campaign = Campaign.objects.create(
        organization=organization, title=title, is_started=True, started_at=timezone.now(), timezone="America/New_York"
    )
    InteractionStep.objects.create(campaign=campaign, script=SCRIPT, question="Will you vote?")
    now = timezone.now()
    _insert_select(
        Contact,
        {
            "campaign_id": ("%s", [campaign.pk]),
            "first_name": ("'Voter' || n", []),
            "last_name": ("'Number' || n", []),
            "cell": ("'+1' || (%s::bigint + n)::text", [cell_base]),
            "zip": ("'20001'", []),
            "external_id": ("n::text", []),
            "custom_fields": ("'{}'::jsonb", []),
            "timezone": ("'America/New_York'", []),
            "status": ("%s", [ContactStatus.NEEDS_MESSAGE]),
            "created_at": ("%s", [now]),
            "updated_at": ("%s", [now]),
        },
        "FROM generate_series(1, %s) AS n",
        [contacts],
    )
    sample = Contact.objects.filter(campaign=campaign).order_by("id").values_list("cell", "status").first()
    assert sample == (f"+1{cell_base + 1}", ContactStatus.NEEDS_MESSAGE), sample
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {_quoted(Contact)}")
    return campaign


def assignments_for(*, campaign: Campaign, texters: list[User]) -> dict[int, int]:
    """texter id → assignment id in the campaign, creating what is missing."""
    Assignment.objects.bulk_create(
        [Assignment(campaign=campaign, texter=texter) for texter in texters], ignore_conflicts=True
    )
    return dict(Assignment.objects.filter(campaign=campaign, texter__in=texters).values_list("texter_id", "id"))


def contacts_deal(*, campaign: Campaign, texters: list[User], count: int) -> dict[int, list[int]]:
    """Deal `count` contacts still to be texted round-robin to `texters` (one statement);
    returns texter id → their contact ids, in order."""
    by_texter = assignments_for(campaign=campaign, texters=texters)
    assignment_ids = [by_texter[t.pk] for t in texters]
    table = _quoted(Contact)
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH picked AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM {table} "  # noqa: S608
            "WHERE campaign_id = %s AND status = %s AND NOT is_opted_out ORDER BY id LIMIT %s) "
            f"UPDATE {table} AS c SET assignment_id = (%s::bigint[])[picked.n %% %s + 1] FROM picked "
            "WHERE c.id = picked.id RETURNING c.id, c.assignment_id",
            [campaign.pk, ContactStatus.NEEDS_MESSAGE, count, assignment_ids, len(assignment_ids)],
        )
        rows = sorted(cursor.fetchall())
    texter_of = {assignment_id: texter_id for texter_id, assignment_id in by_texter.items()}
    dealt: dict[int, list[int]] = {t.pk: [] for t in texters}
    for contact_id, assignment_id in rows:
        dealt[texter_of[assignment_id]].append(contact_id)
    return dealt


def contacts_texted(*, campaign: Campaign, count: int) -> list[tuple[int, str, int]]:
    """Mark `count` assigned contacts as texted, with a delivered outbound message each (what an
    inbound reply is matched to); returns (contact id, cell, texter id)."""
    contacts = list(
        Contact.objects.filter(campaign=campaign, assignment__isnull=False, status=ContactStatus.NEEDS_MESSAGE)
        .order_by("id")
        .values_list("id", "cell", "assignment__texter_id")[:count]
    )
    ids = [row[0] for row in contacts]
    now = timezone.now()
    _insert_select(
        Message,
        {
            "organization_id": ("%s", [campaign.organization_id]),
            "campaign_id": ("c.campaign_id", []),
            "contact_id": ("c.id", []),
            "texter_id": ("a.texter_id", []),
            "direction": ("%s", [Direction.OUTBOUND]),
            "body": ("'Hi from the benchmark'", []),
            "status": ("%s", [MessageStatus.DELIVERED]),
            "provider": ("'twilio'", []),
            "provider_sid": ("'SMbench' || c.id::text", []),
            "to_number": ("c.cell", []),
            "messaging_service_sid": ("%s", [MESSAGING_SERVICE]),
            "created_at": ("%s", [now]),
        },
        f"FROM {_quoted(Contact)} c JOIN {_quoted(Assignment)} a ON a.id = c.assignment_id WHERE c.id = ANY(%s)",
        [ids],
    )
    Contact.objects.filter(id__in=ids).update(status=ContactStatus.MESSAGED, updated_at=now)
    return contacts


def contacts_csv_write(path: Path, *, rows: int, cell_base: int = 2_022_000_000, seed: int = 9) -> Path:
    """A contact upload in the original Spoke's format, with a custom column and the usual mess:
    punctuation in cells, a duplicate every 500 rows, an invalid cell every 1,000."""
    rng = random.Random(seed)
    first_names = ["Maria", "James", "Aisha", "Wei", "Olga", "Juan", "Fatima", "Noah", "Priya", "Sam"]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["firstName", "lastName", "cell", "zip", "external_id", "precinct"])
        for i in range(rows):
            n = cell_base + (i - 1 if i % 500 == 499 else i)
            digits = str(n)
            cell = f"({digits[:3]}) {digits[3:6]}-{digits[6:]}" if i % 3 else digits
            if i % 1000 == 250:
                cell = "555-CALL-NOW"
            writer.writerow(
                [rng.choice(first_names), f"Person{i}", cell, f"{20001 + i % 900:05d}", str(i), f"P-{i % 97}"]
            )
    return path
