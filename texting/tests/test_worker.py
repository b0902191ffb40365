"""The worker (texting/worker.py) runs jobs in its own process, keeping its database connection
from one job to the next, and replaces one that aged past CONN_MAX_AGE or broke."""

from __future__ import annotations

import os
import time

import django_rq
import pytest
from django.db import connection
from redis import Redis

from texting.worker import SpokeWorker

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def persistent_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    """Connections kept for a while, as production's DATABASE_CONN_MAX_AGE (the SQLite default closes them)."""
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 600)
    connection.close()  # the next connection is opened with that age


seen: list[tuple[int, object]] = []  # (process, the driver's connection: kept, so ids are not reused)


def record_process_and_connection() -> None:
    connection.ensure_connection()
    seen.append((os.getpid(), connection.connection))


def age_the_connection() -> None:
    connection.ensure_connection()
    seen.append((os.getpid(), connection.connection))
    connection.close_at = time.monotonic() - 1  # past CONN_MAX_AGE (a broken one is closed the same way)


def test_jobs_run_in_the_worker_process_on_one_kept_connection(rq_on_redis: Redis) -> None:
    seen.clear()
    queue = django_rq.get_queue("sends")
    for _ in range(3):
        queue.enqueue(record_process_and_connection)
    SpokeWorker([queue], connection=queue.connection).work(burst=True)
    assert len(seen) == 3
    assert {pid for pid, _ in seen} == {os.getpid()}  # no process forked per job
    assert seen[0][1] is seen[1][1] is seen[2][1]  # the connection is kept between jobs


def test_an_aged_connection_is_replaced_before_the_next_job(rq_on_redis: Redis) -> None:
    seen.clear()
    queue = django_rq.get_queue("sends")
    jobs = [queue.enqueue(age_the_connection), queue.enqueue(record_process_and_connection)]
    SpokeWorker([queue], connection=queue.connection).work(burst=True)
    assert len(seen) == 2
    assert seen[0][1] is not seen[1][1]
    assert [job.get_status(refresh=True) for job in jobs] == ["finished", "finished"]
