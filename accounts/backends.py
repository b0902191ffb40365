"""The authentication backend: Django's ModelBackend, loading the session's user without the ORM.

Every authenticated request loads its user once (`request.user`): on a texter's send that was
the ORM compiling the same `SELECT … FROM accounts_user WHERE id = %s` every time, about an
eighth of the request's CPU in the benchmark's profile. The statement is built once per process
here and its row becomes a `User` exactly as the ORM would build it (core.queries.columns_for);
logging in, permissions and everything else are ModelBackend's.
"""

from __future__ import annotations

import functools
from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.db import connection

from accounts.models import User
from core.queries import Columns, columns_for, execute_hot


@functools.cache
def _user_statement(vendor: str, alias: str) -> tuple[str, Columns]:
    select, columns = columns_for(User, "u")
    quote = connection.ops.quote_name
    sql = f"SELECT {select} FROM {quote(User._meta.db_table)} u WHERE u.{quote(User._meta.pk.column)} = %s"  # type: ignore[union-attr]  # noqa: S608 (quoted names from _meta; the id is a parameter)
    return sql, columns


def user_by_id(user_id: Any) -> User | None:
    sql, columns = _user_statement(connection.vendor, connection.alias)
    with connection.cursor() as cursor:
        execute_hot(cursor, sql, [user_id])
        row = cursor.fetchone()
    if row is None:
        return None
    user = columns.build(row, 0)
    assert isinstance(user, User)
    return user


class Backend(ModelBackend):
    def get_user(self, user_id: Any) -> User | None:  # type: ignore[override]
        user = user_by_id(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None
