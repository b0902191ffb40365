"""Prepared hot statements (core.queries.execute_hot): planned once per PostgreSQL connection,
run by name after that, prepared again on a new connection; plain SQL elsewhere."""

from __future__ import annotations

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from pytest_django.fixtures import Settings as SettingsWrapper

from accounts.models import User
from core.queries import PREPARED_ATTRIBUTE, execute_hot, statement_text
from spoke.testing import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

SQL = 'SELECT "email" FROM "accounts_user" WHERE "id" = %s AND "is_active" = %s'


def _email(user_id: int) -> tuple[str | None, list[str]]:
    with CaptureQueriesContext(connection) as captured, connection.cursor() as cursor:
        execute_hot(cursor, SQL, [user_id, True])
        row = cursor.fetchone()
    return (row[0] if row else None), [q["sql"] for q in captured.captured_queries]


def test_prepared_once_per_connection_then_run_by_name() -> None:
    user = UserFactory.create(email="ada@example.com")
    connection.close()

    first, first_sql = _email(user.pk)
    second, second_sql = _email(user.pk)
    missing, _ = _email(user.pk + 1000)

    assert (first, second, missing) == ("ada@example.com", "ada@example.com", None)
    assert len(first_sql) == len(second_sql) == 1  # preparing costs no extra statement or round trip
    if connection.vendor == "postgresql":
        assert first_sql[0].startswith("PREPARE spoke_") and "; EXECUTE spoke_" in first_sql[0]
        assert second_sql[0].startswith("EXECUTE spoke_") and "accounts_user" not in second_sql[0]
        assert statement_text(first_sql[0]) == statement_text(second_sql[0]) == SQL
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'spoke_%%'")
            assert cursor.fetchone()[0] == 1
    else:
        assert first_sql == second_sql and statement_text(first_sql[0]) == first_sql[0]


def test_a_new_connection_prepares_again_and_a_rollback_keeps_the_statement() -> None:
    user = UserFactory.create(email="grace@example.com")
    assert _email(user.pk)[0] == "grace@example.com"
    connection.close()  # a dropped connection: the next one has no prepared statements
    assert _email(user.pk)[0] == "grace@example.com"
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        assert _email(user.pk)[0] == "grace@example.com"
        raise ZeroDivisionError
    email, sql = _email(user.pk)
    assert email == "grace@example.com"
    if connection.vendor == "postgresql":
        assert sql[0].startswith("EXECUTE spoke_")
        assert connections["default"].__dict__[PREPARED_ATTRIBUTE]


def test_turned_off_it_runs_plain_sql(settings: SettingsWrapper) -> None:
    settings.DATABASE_PREPARED_STATEMENTS = False
    user = UserFactory.create(email="katherine@example.com")
    email, sql = _email(user.pk)
    assert email == "katherine@example.com"
    assert sql[0].startswith('SELECT "email"')
    assert User.objects.filter(pk=user.pk).exists()
