"""The whole send path on the real parts: texters' sends, RQ worker processes on Redis, the twilio
SDK, the Twilio simulator, and its signed callbacks and replies arriving at a live server.

Every message must reach the simulator exactly once (its own count) and end delivered (or
undelivered, for the share the simulator fails), and every reply must be stored.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from pytest_django.fixtures import Settings as SettingsWrapper
from redis import Redis

from accounts.models import Organization, User
from campaigns.models import Assignment, Campaign, Contact, ContactStatus
from spoke.testing import CHILD_APPLICATION_NAME, end_child_sessions
from texting.models import Direction, Message, MessageStatus
from texting.services import message_send
from texting.simulator import SimulatorConfig, TwilioSimulator
from texting.tests.conftest import ACCOUNT_SID, AUTH_TOKEN

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
SERVICE = "MG" + "7" * 32


def _database_env() -> dict[str, str]:
    """The test database, for processes started by the test."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return {"DATABASE_URL": "", "SQLITE_PATH": str(db["NAME"])}
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return {
        "DATABASE_URL": f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        # Their sessions carry this name, so end_child_sessions() ends exactly those.
        "PGAPPNAME": CHILD_APPLICATION_NAME,
    }


class Workers:
    """`manage.py rqworker --with-scheduler sends` processes on the test database."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, count: int) -> None:
        for i in range(count):
            log = (self.logs / f"worker-{i}.log").open("wb")
            self.processes.append(
                subprocess.Popen(
                    [sys.executable, "manage.py", "rqworker", "--with-scheduler", "sends"],
                    cwd=ROOT,
                    env=self.env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def output(self) -> str:
        return "\n".join(path.read_text(errors="replace")[-3000:] for path in sorted(self.logs.glob("worker-*.log")))


@pytest.fixture
def pipeline(
    settings: SettingsWrapper, rq_on_redis: Redis, live_server: Any, tmp_path: Path
) -> Iterator[Callable[..., tuple[TwilioSimulator, Workers]]]:
    started: list[tuple[TwilioSimulator, Workers]] = []

    def start(workers: int = 2, **simulator_options: Any) -> tuple[TwilioSimulator, Workers]:
        simulator = TwilioSimulator(
            SimulatorConfig(
                account_sid=ACCOUNT_SID,
                auth_token=AUTH_TOKEN,
                inbound_url=f"{live_server.url}/webhooks/twilio/inbound",
                seed=8,
                **simulator_options,
            )
        ).start()
        # The live server (this process) checks the callbacks' signatures; the workers send.
        settings.SMS_BACKEND = "twilio"
        settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = ACCOUNT_SID, AUTH_TOKEN
        settings.TWILIO_API_BASE_URL = simulator.url
        settings.PUBLIC_BASE_URL = live_server.url
        env = {
            **os.environ,
            **_database_env(),
            "REDIS_URL": settings.REDIS_URL,
            "SMS_BACKEND": "twilio",
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "TWILIO_API_BASE_URL": simulator.url,
            "PUBLIC_BASE_URL": live_server.url,
            "SEND_RETRY_BASE_SECONDS": "1",
            "SEND_RETRY_MAX_SECONDS": "2",
            "SEND_MAX_ATTEMPTS": "20",
            "SEND_BATCH_SIZE": "25",
            "LOG_LEVEL": "INFO",
        }
        runner = Workers(env, tmp_path)
        runner.start(workers)
        started.append((simulator, runner))
        return simulator, runner

    yield start
    for simulator, runner in started:
        runner.stop()
        simulator.stop()
    end_child_sessions()


@pytest.fixture
def contacts(campaign: Campaign, assignment: Assignment) -> list[Contact]:
    Organization.objects.filter(pk=campaign.organization_id).update(messaging_service_sid=SERVICE)
    return Contact.objects.bulk_create(
        [
            Contact(campaign=campaign, assignment=assignment, first_name=f"C{i}", cell=f"+1312555{i:04d}")
            for i in range(120)
        ]
    )


def _send_all(texter: User, contacts: list[Contact]) -> None:
    for contact in contacts:
        message_send(texter=texter, contact_id=contact.pk, body="", send_key=uuid.uuid4(), first_message=True)


# Generous: on a busy 2-core machine two workers, the simulator and the live server share the cores.
def _wait_until(condition: Callable[[], bool], workers: Workers, what: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            statuses = dict(Counter(Message.objects.values_list("direction", "status", "status_note")))
            pytest.fail(f"Timed out waiting for {what}: {statuses}\n\nWorker output:\n{workers.output()}")
        time.sleep(0.1)


def _outbound() -> Any:
    return Message.objects.filter(direction=Direction.OUTBOUND)


def test_every_message_is_delivered_exactly_once_through_workers_and_the_simulator(
    pipeline: Callable[..., tuple[TwilioSimulator, Workers]], contacts: list[Contact], texter: User
) -> None:
    simulator, workers = pipeline(workers=2, failures=[(30007, 0.05)], reply_rate=0.3, stop_share=0.3)
    # Texters send while the workers already run: drains start and new ones queue behind them.
    _send_all(texter, contacts[:60])
    _send_all(texter, contacts[60:])
    total = len(contacts)
    final = (MessageStatus.DELIVERED, MessageStatus.UNDELIVERED)
    _wait_until(lambda: _outbound().filter(status__in=final).count() == total, workers, "every message's final status")
    _wait_until(
        lambda: Message.objects.filter(direction=Direction.INBOUND).count() == simulator.stats.replies_sent,
        workers,
        "the replies",
    )
    stats = simulator.stats.snapshot()

    # Exactly once: the simulator accepted one message per contact, none twice.
    assert stats["accepted"] == total
    assert stats["per_to"] == {contact.cell: 1 for contact in contacts}
    assert stats["duplicates"] == 0 and stats["rejected"] == {}
    assert stats["callbacks_failed"] == 0
    # Carrier filtering reported by callback is recorded with its code.
    filtered = _outbound().filter(status=MessageStatus.UNDELIVERED, error_code=30007).count()
    assert filtered == stats["failed_later"].get("30007", 0) > 0
    assert _outbound().filter(status=MessageStatus.DELIVERED).count() == total - filtered
    assert _outbound().exclude(provider_sid__startswith="SM").count() == 0
    # Replies: stored against their contacts; STOP opted them out, the others wait for an answer.
    replies = stats["replies_sent"]
    assert replies > 0 and stats["stop_replies_sent"] > 0
    inbound = Message.objects.filter(direction=Direction.INBOUND)
    assert inbound.filter(contact__isnull=False).count() == replies
    assert Contact.objects.filter(is_opted_out=True).count() == stats["stop_replies_sent"]
    assert Contact.objects.filter(status=ContactStatus.NEEDS_RESPONSE).count() == replies - stats["stop_replies_sent"]


def test_rate_limited_sends_are_retried_with_backoff_and_still_sent_once(
    pipeline: Callable[..., tuple[TwilioSimulator, Workers]],
    contacts: list[Contact],
    texter: User,
    organization: Organization,
) -> None:
    # Spoke may send 1000/s but the simulator accepts 4/s (a burst of 4): however slow the machine,
    # eight sends in flight outrun it, so some answer 429 and come back later.
    Organization.objects.filter(pk=organization.pk).update(send_rate_per_second=1000)
    simulator, workers = pipeline(workers=2, rate_limit=4)
    _send_all(texter, contacts[:40])
    _wait_until(
        lambda: _outbound().filter(status=MessageStatus.DELIVERED).count() == 40, workers, "every message delivered"
    )
    stats = simulator.stats.snapshot()
    assert stats["rejected"].get("429:20429", 0) > 0, "the simulator should have answered 429 at least once"
    assert stats["accepted"] == 40 and stats["duplicates"] == 0
    assert stats["per_to"] == {contact.cell: 1 for contact in contacts[:40]}
    assert _outbound().filter(attempts__gt=1).exists()
