"""A worker killed in the middle of a drain (the whole process group, as when a machine dies):
nothing is ever sent twice, and what it had claimed is resolved by the sweeper as the design
says: messages it may have handed to the provider go to review (never resent), the rest are
drained again and sent once."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import django_rq
import pytest
from django.utils import timezone
from pytest_django.fixtures import Settings as SettingsWrapper
from redis import Redis
from rq import SimpleWorker

from accounts.models import Organization, User
from campaigns.models import Assignment, Campaign, Contact
from spoke.testing import end_child_sessions
from texting.models import Direction, Message, MessageStatus
from texting.outbox import STUCK_NOTE, outbox_drain, outbox_sweep
from texting.services import message_send
from texting.simulator import SimulatorConfig, TwilioSimulator
from texting.tests.conftest import ACCOUNT_SID, AUTH_TOKEN
from texting.tests.test_pipeline import ROOT, _database_env

pytestmark = pytest.mark.django_db(transaction=True)

SERVICE = "MG" + "9" * 32
COUNT = 40
# Nothing listens here: the simulator's status callbacks fail fast, which this test ignores.
NO_SERVER = "http://127.0.0.1:18398"


def _outbound() -> dict[str, int]:
    return dict(Counter(Message.objects.filter(direction=Direction.OUTBOUND).values_list("status", flat=True)))


def test_a_worker_killed_mid_drain_sends_nothing_twice_and_the_sweeper_resolves_its_claims(
    settings: SettingsWrapper,
    rq_on_redis: Redis,
    campaign: Campaign,
    assignment: Assignment,
    texter: User,
    tmp_path: Path,
) -> None:
    Organization.objects.filter(pk=campaign.organization_id).update(messaging_service_sid=SERVICE)
    contacts = Contact.objects.bulk_create(
        [
            Contact(campaign=campaign, assignment=assignment, first_name=f"K{i}", cell=f"+1312555{i:04d}")
            for i in range(COUNT)
        ]
    )
    # A slow provider, so the worker is caught with a batch claimed and sends in flight.
    simulator = TwilioSimulator(SimulatorConfig(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, latency_ms=150)).start()
    settings.SMS_BACKEND = "twilio"
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = ACCOUNT_SID, AUTH_TOKEN
    settings.TWILIO_API_BASE_URL = simulator.url
    settings.PUBLIC_BASE_URL = NO_SERVER
    env = {
        **os.environ,
        **_database_env(),
        "REDIS_URL": settings.REDIS_URL,
        "SMS_BACKEND": "twilio",
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_API_BASE_URL": simulator.url,
        "PUBLIC_BASE_URL": NO_SERVER,
        "SEND_BATCH_SIZE": "10",
        "SEND_CONCURRENCY": "2",
        "SEND_RATE_PER_SECOND": "0",
    }
    log = (tmp_path / "worker.log").open("wb")
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "rqworker", "sends"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: the job's work-horse dies with it
    )
    try:
        for contact in contacts:
            message_send(texter=texter, contact_id=contact.pk, body="", send_key=uuid.uuid4(), first_message=True)
        deadline = time.monotonic() + 60
        while simulator.stats.snapshot()["accepted"] < 5:
            if time.monotonic() > deadline:
                pytest.fail(f"the worker sent nothing: {(tmp_path / 'worker.log').read_text()[-3000:]}")
            time.sleep(0.02)
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)
        end_child_sessions()

    killed_at = _outbound()
    assert killed_at.get(MessageStatus.SENDING, 0) > 0, f"the kill should catch a claimed batch: {killed_at}"
    assert killed_at.get(MessageStatus.QUEUED, 0) > 0, f"the kill should leave messages queued: {killed_at}"
    claimed = set(Message.objects.filter(status=MessageStatus.SENDING).values_list("pk", flat=True))

    # The sweeper, once SEND_STUCK_AFTER_SECONDS have passed: claimed-but-unresolved messages go to
    # review; the queued ones' drain is kicked again and a worker sends them.
    later = timezone.now() + dt.timedelta(seconds=settings.SEND_STUCK_AFTER_SECONDS + 1)
    result = outbox_sweep(now=later)
    assert result.stuck == len(claimed) and result.kicked == [SERVICE]
    queue = django_rq.get_queue("sends")
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    outbox_drain(messaging_service_sid=SERVICE)  # nothing left for it: the worker drained them all
    simulator.stop()

    stats = simulator.stats.snapshot()
    final = _outbound()
    assert stats["duplicates"] == 0 and max(stats["per_to"].values()) == 1, "a message was sent twice"
    assert final.get(MessageStatus.QUEUED, 0) == 0 and final.get(MessageStatus.SENDING, 0) == 0
    review = Message.objects.filter(status=MessageStatus.REVIEW)
    assert set(review.values_list("pk", flat=True)) == claimed
    assert all(note == STUCK_NOTE for note in review.values_list("status_note", flat=True))
    # Every message the simulator has not seen was sent exactly once after the kill; the ones in
    # review were never sent again, whether or not the dead worker got them out.
    sent = Message.objects.filter(status=MessageStatus.SENT)
    assert sent.count() + review.count() == COUNT
    assert all(stats["per_to"].get(cell) == 1 for cell in sent.values_list("to_number", flat=True))
