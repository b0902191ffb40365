"""The production topology on one machine, as `make stack` runs it: honcho starts the Procfile's
web (uvicorn, two processes) and worker (rqworker --with-scheduler), `manage.py twilio_simulator`
plays Twilio. A texter logs in and sends over real HTTP; the workers drain the outbox to the
simulator, whose signed status callbacks mark every message delivered; /metrics counts them;
stopping honcho leaves no process behind.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from pytest_django.fixtures import Settings as SettingsWrapper
from redis import Redis

from accounts.models import Organization, User
from campaigns.models import Assignment, Campaign, Contact
from spoke.testing import PASSWORD, end_child_sessions
from texting.models import Direction, Message, MessageStatus
from texting.tests.conftest import ACCOUNT_SID, AUTH_TOKEN
from texting.tests.test_pipeline import _database_env

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
SERVICE = "MG" + "8" * 32
METRICS_TOKEN = "stack-test-metrics-token-0123456789"
MESSAGES = 12
# The ports of this suite's servers (a range no other test uses).
PORTS = range(18400, 18500)


def free_port() -> int:
    for port in PORTS:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {PORTS}")


def processes_marked(marker: str) -> list[int]:
    """Pids of live processes whose environment carries `SPOKE_STACK_RUN=<marker>`."""
    found = []
    needle = f"SPOKE_STACK_RUN={marker}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
                if state != "Z":  # a zombie is already dead, waiting for its parent to read it
                    found.append(int(entry.name))
        except OSError:
            continue
    return found


def wait_for(condition: Callable[[], bool], what: str, logs: Callable[[], str], timeout: float = 40) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if condition():
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"Timed out waiting for {what}.\n\nProcess output:\n{logs()}")
        time.sleep(0.2)


class Stack:
    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs = env, logs
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, command: list[str]) -> None:
        log = (self.logs / f"{name}.log").open("wb")
        self.processes.append(
            subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
        )

    def output(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-4000:]}" for p in sorted(self.logs.glob("*.log"))
        )

    def stop(self) -> None:
        for process in self.processes:
            process.send_signal(signal.SIGTERM)  # honcho passes it to every process it started
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def stack(settings: SettingsWrapper, rq_redis: Redis, tmp_path: Path) -> Iterator[dict[str, Any]]:
    web_port, simulator_port = free_port(), None
    # Bind the web port's neighbour for the simulator only after the web port is chosen.
    with socket.socket() as hold:
        hold.bind(("127.0.0.1", web_port))
        simulator_port = free_port()
    marker = uuid.uuid4().hex
    base = f"http://127.0.0.1:{web_port}"
    venv_bin = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        **_database_env(),
        "PATH": f"{venv_bin}:{os.environ.get('PATH', '')}",
        "SPOKE_STACK_RUN": marker,
        "REDIS_URL": settings.REDIS_URL,
        "PORT": str(web_port),
        "BIND_HOST": "127.0.0.1",
        "WEB_CONCURRENCY": "2",
        "SMS_BACKEND": "twilio",
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_API_BASE_URL": f"http://127.0.0.1:{simulator_port}",
        "PUBLIC_BASE_URL": base,
        "METRICS_TOKEN": METRICS_TOKEN,
        "LOG_FORMAT": "json",
    }
    run = Stack(env, tmp_path)
    run.start(
        "simulator",
        [
            sys.executable, "manage.py", "twilio_simulator", "--port", str(simulator_port),
            "--account-sid", ACCOUNT_SID, "--auth-token", AUTH_TOKEN,
        ],
    )  # fmt: skip
    run.start("honcho", [sys.executable, "-m", "honcho", "-f", "Procfile", "start", "web", "worker"])
    try:
        wait_for(lambda: requests.get(f"{base}/readyz", timeout=2).status_code == 200, "a ready stack", run.output)
        wait_for(
            lambda: requests.get(f"http://127.0.0.1:{simulator_port}/stats", timeout=2).ok, "the simulator", run.output
        )
        yield {"base": base, "simulator": f"http://127.0.0.1:{simulator_port}", "run": run, "marker": marker}
    finally:
        run.stop()
        end_child_sessions()


@pytest.fixture
def rq_redis(settings: SettingsWrapper) -> Iterator[Redis]:
    """The Redis the stack's processes share, emptied of Spoke's keys before and after."""
    from texting.tests.conftest import TEST_REDIS_URL, clean_redis

    settings.REDIS_URL = settings.REDIS_URL or TEST_REDIS_URL
    settings.JOBS_SYNC = False
    settings.RQ_QUEUES = {name: {"URL": settings.REDIS_URL, "DEFAULT_TIMEOUT": 60} for name in settings.RQ_QUEUES}
    connection = Redis.from_url(settings.REDIS_URL)
    clean_redis(connection)
    for key in connection.scan_iter("rq:worker*"):
        connection.delete(key)
    yield connection
    clean_redis(connection)
    settings.JOBS_SYNC = True


def log_in(base: str, email: str) -> requests.Session:
    session = requests.Session()
    session.get(f"{base}/accounts/login/", timeout=5).raise_for_status()
    response = session.post(
        f"{base}/accounts/login/",
        data={"username": email, "password": PASSWORD, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        headers={"Referer": f"{base}/accounts/login/"},
        timeout=5,
        allow_redirects=False,
    )
    assert response.status_code == 302, response.text[:500]
    return session


def metric(text: str, series: str) -> float:
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[-1])
    return 0.0


def test_the_procfile_stack_sends_through_the_simulator_and_stops_cleanly(
    stack: dict[str, Any], campaign: Campaign, assignment: Assignment, texter: User
) -> None:
    Organization.objects.filter(pk=campaign.organization_id).update(messaging_service_sid=SERVICE)
    contacts = Contact.objects.bulk_create(
        [
            Contact(campaign=campaign, assignment=assignment, first_name=f"C{i}", cell=f"+1312555{i:04d}")
            for i in range(MESSAGES)
        ]
    )
    base, run = stack["base"], stack["run"]
    session = log_in(base, texter.email)
    for contact in contacts:
        response = session.post(
            f"{base}/texter/contacts/{contact.pk}/send/",
            data=json.dumps({"body": "", "send_key": str(uuid.uuid4()), "first_message": True}),
            headers={"Content-Type": "application/json", "X-CSRFToken": session.cookies["csrftoken"]},
            timeout=10,
        )
        assert response.status_code == 200, response.text[:500]
        assert response.headers["X-Request-ID"]

    outbound = Message.objects.filter(direction=Direction.OUTBOUND)
    wait_for(
        lambda: outbound.filter(status=MessageStatus.DELIVERED).count() == MESSAGES,
        "every message delivered by the simulator's callbacks",
        lambda: f"{dict(outbound.values_list('id', 'status'))}\n{run.output()}",
    )
    stats = requests.get(f"{stack['simulator']}/stats", timeout=5).json()
    assert stats["accepted"] == MESSAGES and stats["duplicates"] == 0
    assert stats["per_to"] == {contact.cell: 1 for contact in contacts}

    # The numbers are shared by every process: the worker counted the sends, the web processes the reports.
    def delivered_counted() -> bool:
        text = requests.get(f"{base}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=5).text
        return metric(text, 'spoke_messages_total{code="",outcome="delivered"}') == MESSAGES

    wait_for(delivered_counted, "the delivery reports in /metrics", run.output, timeout=10)

    # Each web process flushes its request latencies within a second, busy or not.
    def latencies_counted() -> bool:
        text = requests.get(f"{base}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=5).text
        return metric(text, 'spoke_http_request_duration_seconds_count{area="texter"}') >= MESSAGES

    wait_for(latencies_counted, "every send's latency in /metrics", run.output, timeout=10)
    text = requests.get(f"{base}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=5).text
    assert metric(text, 'spoke_messages_total{code="",outcome="sent"}') == MESSAGES
    assert metric(text, 'spoke_outbox_queued_messages{messaging_service="' + SERVICE + '"}') == 0

    # Every process the stack started ends with it: no orphan uvicorn worker, rq worker or work horse.
    assert len(processes_marked(stack["marker"])) >= 4  # honcho, uvicorn (+2 workers), rqworker, simulator
    run.stop()
    deadline = time.monotonic() + 10
    while processes_marked(stack["marker"]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert processes_marked(stack["marker"]) == [], run.output()
    # The logs were JSON, one object a line, each with the request id of its request.
    web_lines = [
        json.loads(line.split("| ", 1)[1])
        for line in (run.logs / "honcho.log").read_text().splitlines()
        if "| {" in line
    ]
    access = [line for line in web_lines if line["logger"] == "spoke.access" and "/send/" in line["message"]]
    assert len(access) == MESSAGES and all(len(line["request_id"]) == 32 for line in access)
    # Nothing secret or private in what Spoke's processes wrote: credentials, the session, the texts.
    written = (run.logs / "honcho.log").read_text()
    for secret in [AUTH_TOKEN, PASSWORD, METRICS_TOKEN, session.cookies["sessionid"], "Can we count on your vote"]:
        assert secret not in written, f"{secret!r} reached the logs"
