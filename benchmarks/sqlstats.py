"""SQL statements per operation, counted by PostgreSQL itself (pg_stat_statements).

The server processes' statements are what a budget is about, so they are counted where they
run: in PostgreSQL. pg_stat_statements needs `shared_preload_libraries = 'pg_stat_statements'`;
without it `available()` says why, and the scenarios count in-process instead (and say so).
Transaction control (BEGIN, COMMIT, savepoints) is not counted, as in the design's budgets.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from django.db.utils import DatabaseError

TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "START TRANSACTION")


@dataclass
class StatementCount:
    total: int
    by_statement: list[tuple[str, int]]  # (normalised SQL, calls), most called first
    foreign_key_checks: int = 0  # PostgreSQL's own, from its FK triggers: not sent by the application

    def per(self, operations: int) -> float | None:
        return round(self.total / operations, 2) if operations else None

    def checks_per(self, operations: int) -> float | None:
        return round(self.foreign_key_checks / operations, 2) if operations else None

    def breakdown(self, operations: int, limit: int = 8) -> list[dict[str, object]]:
        return [
            {"sql": sql[:240], "per_operation": round(calls / operations, 2) if operations else None}
            for sql, calls in self.by_statement[:limit]
        ]


def available() -> tuple[bool, str]:
    """Whether pg_stat_statements counts here; if not, the reason (for the report)."""
    if connection.vendor != "postgresql":
        return False, f"the database is {connection.vendor}, not PostgreSQL"
    try:
        with connection.cursor() as cursor:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            cursor.execute("SELECT count(*) FROM pg_stat_statements")
    except DatabaseError as exc:
        connection.close()  # an aborted statement can leave the connection unusable
        return False, f"pg_stat_statements is unavailable ({str(exc).strip().splitlines()[0]})"
    return True, "pg_stat_statements"


def reset() -> None:
    with connection.cursor() as cursor:
        # This database's statements only: others may be measuring theirs on the same server.
        cursor.execute(
            "SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = current_database()), 0)"
        )


def read() -> StatementCount:
    """Statements run in this database since `reset()`, except transaction control and this module's."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT query, calls FROM pg_stat_statements "
            "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) ORDER BY calls DESC"
        )
        rows = cursor.fetchall()
    counted, checks = [], 0
    for query, calls in rows:
        text = " ".join(query.split())
        if text.upper().startswith(TRANSACTION_CONTROL) or "pg_stat_statements" in text or "pg_database" in text:
            continue
        # The foreign-key triggers' own lookups (ri_triggers.c: SELECT 1 FROM ONLY <table> x WHERE … FOR
        # KEY SHARE OF x) show up as top-level statements, but no client sent them.
        if text.startswith("SELECT ") and " FROM ONLY " in text and text.endswith("FOR KEY SHARE OF x"):
            checks += int(calls)
            continue
        counted.append((text, int(calls)))
    return StatementCount(total=sum(calls for _, calls in counted), by_statement=counted, foreign_key_checks=checks)
