"""The Twilio simulator, driven through the real twilio SDK (our Twilio provider)."""

from __future__ import annotations

import base64
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import urllib3
from twilio.request_validator import RequestValidator

from texting.providers.base import FailureKind, OutboundSMS, ProviderError
from texting.providers.twilio import TwilioProvider
from texting.simulator import SimulatorConfig, TwilioSimulator, parse_failure
from texting.tests.conftest import ACCOUNT_SID, AUTH_TOKEN

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Receiver:
    """Our side of the callbacks: records every signed POST and whether its signature is Twilio's."""

    url: str = ""
    posts: list[tuple[str, dict[str, str], bool]] = field(default_factory=list)
    connections: int = 0
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, count: int, timeout: float = 10) -> list[tuple[str, dict[str, str], bool]]:
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.posts) >= count, timeout=timeout), self.posts
            return list(self.posts)


def _serve_receiver(protocol_version: str = "HTTP/1.0") -> tuple[Receiver, ThreadingHTTPServer]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def setup(self) -> None:
            super().setup()
            with state.arrived:
                state.connections += 1

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            params = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True))
            valid = RequestValidator(AUTH_TOKEN).validate(
                f"{state.url}{self.path}", params, self.headers.get("X-Twilio-Signature", "")
            )
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()
            with state.arrived:
                state.posts.append((self.path, params, valid))
                state.arrived.notify_all()

        def log_message(self, *args: object) -> None:
            pass

    Handler.protocol_version = protocol_version
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return state, server


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """Answers each callback on a connection of its own (HTTP/1.0, as BaseHTTPRequestHandler does)."""
    state, server = _serve_receiver()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def keep_alive_receiver() -> Iterator[Receiver]:
    """Keeps connections open between callbacks (HTTP/1.1, like uvicorn)."""
    state, server = _serve_receiver("HTTP/1.1")
    yield state
    server.shutdown()
    server.server_close()


def _simulator(**options: object) -> TwilioSimulator:
    return TwilioSimulator(SimulatorConfig(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, **options)).start()  # type: ignore[arg-type]


def _provider(simulator: TwilioSimulator, token: str = AUTH_TOKEN) -> TwilioProvider:
    return TwilioProvider(account_sid=ACCOUNT_SID, auth_token=token, api_base_url=simulator.url, timeout_seconds=5)


def test_a_send_through_the_sdk_is_accepted_with_a_message_sid(simulator: TwilioSimulator) -> None:
    result = _provider(simulator).send(OutboundSMS(to="+12025550100", body="Hi", messaging_service_sid="MGsim"))
    assert result.sid.startswith("SM") and len(result.sid) == 34
    assert result.status == "accepted"
    stats = simulator.stats.snapshot()
    assert stats["accepted"] == 1 and stats["per_to"] == {"+12025550100": 1}


def test_wrong_credentials_are_refused_like_twilio(simulator: TwilioSimulator) -> None:
    with pytest.raises(ProviderError) as excinfo:
        _provider(simulator, token="not-the-token").send(OutboundSMS(to="+12025550100", body="Hi", from_number="+1"))
    assert (excinfo.value.kind, excinfo.value.code) == (FailureKind.PERMANENT, 20003)
    assert simulator.stats.snapshot()["accepted"] == 0


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"Body": "Hi", "From": "+15005550006"}, 21604),
        ({"To": "+12025550100", "From": "+15005550006"}, 21602),
        ({"To": "+12025550100", "Body": "Hi"}, 21603),
        ({"To": "+12025550100", "Body": "Hi", "From": "+1", "ValidityPeriod": "0"}, 21609),
    ],
)
def test_missing_required_parameters_answer_400_with_twilios_code(
    simulator: TwilioSimulator, params: dict[str, str], code: int
) -> None:
    response = urllib3.PoolManager().request(
        "POST",
        f"{simulator.url}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json",
        fields=params,
        encode_multipart=False,
        headers=urllib3.make_headers(basic_auth=f"{ACCOUNT_SID}:{AUTH_TOKEN}"),
    )
    assert response.status == 400
    assert response.json()["code"] == code


def test_beyond_its_rate_limit_it_answers_429_which_is_transient() -> None:
    simulator = _simulator(rate_limit=2)
    try:
        provider = _provider(simulator)
        outcomes = []
        for _ in range(4):
            try:
                provider.send(OutboundSMS(to="+12025550100", body="Hi", from_number="+15005550006"))
                outcomes.append("ok")
            except ProviderError as exc:
                outcomes.append(f"{exc.kind.value}:{exc.code}")
        assert outcomes[:2] == ["ok", "ok"]
        assert "transient:20429" in outcomes[2:]
        assert simulator.stats.snapshot()["rejected"]["429:20429"] >= 1
    finally:
        simulator.stop()


def test_a_21xxx_failure_is_refused_at_once() -> None:
    simulator = _simulator(failures=[(21614, 1.0)])
    try:
        with pytest.raises(ProviderError) as excinfo:
            _provider(simulator).send(OutboundSMS(to="+12025550100", body="Hi", from_number="+15005550006"))
        assert (excinfo.value.kind, excinfo.value.code) == (FailureKind.PERMANENT, 21614)
    finally:
        simulator.stop()


def test_status_callbacks_are_signed_like_twilios_sent_then_delivered(
    simulator: TwilioSimulator, receiver: Receiver
) -> None:
    result = _provider(simulator).send(
        OutboundSMS(
            to="+12025550100", body="Hi", messaging_service_sid="MGsim", status_callback=f"{receiver.url}/status"
        )
    )
    posts = receiver.wait_for(2)
    assert [(path, params["MessageStatus"], valid) for path, params, valid in posts] == [
        ("/status", "sent", True),
        ("/status", "delivered", True),
    ]
    assert posts[1][1]["MessageSid"] == result.sid and posts[1][1]["AccountSid"] == ACCOUNT_SID
    assert posts[1][1]["MessagingServiceSid"] == "MGsim" and posts[1][1]["To"] == "+12025550100"


def test_a_carrier_failure_is_reported_undelivered_with_its_error_code(receiver: Receiver) -> None:
    simulator = _simulator(failures=[(30007, 1.0)])
    try:
        _provider(simulator).send(
            OutboundSMS(to="+12025550100", body="Hi", from_number="+1500", status_callback=f"{receiver.url}/s")
        )
        posts = receiver.wait_for(2)
        assert [(p["MessageStatus"], p.get("ErrorCode")) for _path, p, _ok in posts] == [
            ("sent", None),
            ("undelivered", "30007"),
        ]
        assert all(valid for _path, _params, valid in posts)
    finally:
        simulator.stop()


def test_contacts_reply_to_the_inbound_url_some_with_stop(receiver: Receiver) -> None:
    simulator = _simulator(reply_rate=1.0, stop_share=1.0, inbound_url=f"{receiver.url}/inbound")
    try:
        _provider(simulator).send(OutboundSMS(to="+12025550100", body="Hi", messaging_service_sid="MGsim"))
        path, params, valid = receiver.wait_for(1)[0]
        assert (path, params["Body"], params["From"], valid) == ("/inbound", "STOP", "+12025550100", True)
        assert params["MessagingServiceSid"] == "MGsim" and params["MessageSid"].startswith("SM")
    finally:
        simulator.stop()


def test_sends_reuse_keep_alive_connections(simulator: TwilioSimulator) -> None:
    provider = _provider(simulator)
    for i in range(10):
        provider.send(OutboundSMS(to=f"+1202555{i:04d}", body="Hi", from_number="+15005550006"))
    assert simulator.stats.snapshot()["connections"] == 1
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(
            pool.map(
                lambda i: provider.send(OutboundSMS(to=f"+1312555{i:04d}", body="Hi", from_number="+1")), range(40)
            )
        )
    stats = simulator.stats.snapshot()
    assert stats["accepted"] == 50 and stats["connections"] <= 5


def test_the_simulator_counts_duplicates(simulator: TwilioSimulator) -> None:
    provider = _provider(simulator)
    for _ in range(2):
        provider.send(OutboundSMS(to="+12025550100", body="Same", from_number="+15005550006"))
    assert simulator.stats.snapshot()["duplicates"] == 1


def test_it_listens_and_calls_back_on_loopback_only() -> None:
    with pytest.raises(ValueError, match="loopback"):
        SimulatorConfig(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, host="0.0.0.0")  # noqa: S104
    with pytest.raises(ValueError, match="loopback"):
        SimulatorConfig(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, inbound_url="https://example.org/in")


def test_failure_options_are_checked() -> None:
    assert parse_failure("30007:0.25") == (30007, 0.25)
    for bad in ("30007", "x:0.1", "30007:2"):
        with pytest.raises(ValueError, match="--fail"):
            parse_failure(bad)


def test_the_command_serves_until_stopped_and_reports_its_counts(tmp_path: Path) -> None:
    stats_file = tmp_path / "stats.json"
    process = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "manage.py",
            "twilio_simulator",
            "--port",
            "0",
            "--account-sid",
            ACCOUNT_SID,
            "--auth-token",
            AUTH_TOKEN,
            "--stats-file",
            str(stats_file),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first_line = process.stdout.readline()
        assert first_line.startswith("Twilio simulator listening on http://127.0.0.1:"), first_line
        url = first_line.split()[4]
        TwilioProvider(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, api_base_url=url).send(
            OutboundSMS(to="+12025550100", body="Hi", from_number="+15005550006")
        )
        assert json.loads(urllib3.request("GET", f"{url}/stats").data)["accepted"] == 1
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert json.loads(stats_file.read_text())["accepted"] == 1


@pytest.mark.parametrize("command", ["twilio_simulator", "sweep_outbox"])
def test_commands_explain_themselves(command: str) -> None:
    result = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", command, "--help"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert {"twilio_simulator": "posts signed status callbacks", "sweep_outbox": "move messages stuck in 'sending'"}[
        command
    ] in text


def test_the_command_refuses_bad_options_clearly() -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "twilio_simulator", "--fail", "banana"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "--fail takes CODE:SHARE" in result.stderr


# --- behaviour the event-loop server and callback client keep (the simulator is cheap in CPU per message)


def _stats_when(simulator: TwilioSimulator, condition: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while not condition(stats := simulator.stats.snapshot()):
        assert time.monotonic() < deadline, stats
        time.sleep(0.01)
    return stats


def test_callbacks_keep_each_messages_order_over_kept_alive_connections(keep_alive_receiver: Receiver) -> None:
    simulator = _simulator()
    try:
        provider = _provider(simulator)
        with ThreadPoolExecutor(max_workers=4) as pool:
            sids = list(
                pool.map(
                    lambda i: (
                        provider.send(
                            OutboundSMS(
                                to=f"+1312555{i:04d}",
                                body="Hi",
                                from_number="+15005550006",
                                status_callback=f"{keep_alive_receiver.url}/status?m={i}",
                            )
                        ).sid
                    ),
                    range(40),
                )
            )
        posts = keep_alive_receiver.wait_for(80)
        statuses: dict[str, list[tuple[str, str]]] = {}
        for path, params, valid in posts:
            assert valid, params
            statuses.setdefault(params["MessageSid"], []).append((path, params["MessageStatus"]))
        assert statuses == {
            sid: [(f"/status?m={i}", "sent"), (f"/status?m={i}", "delivered")] for i, sid in enumerate(sids)
        }
        # At most one connection per callback worker, not one per callback.
        assert keep_alive_receiver.connections <= simulator.config.callback_workers
        stats = _stats_when(simulator, lambda stats: stats["callbacks_sent"] == 80)
        assert stats["callbacks_failed"] == 0 and stats["delivered"] == 40
    finally:
        simulator.stop()


def test_callbacks_nobody_answers_are_counted_failed_and_non_loopback_ones_never_made() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        nobody = f"http://127.0.0.1:{unused.getsockname()[1]}/status"
    simulator = _simulator()
    try:
        provider = _provider(simulator)
        provider.send(OutboundSMS(to="+12025550100", body="Hi", from_number="+1", status_callback=nobody))
        stats = _stats_when(simulator, lambda stats: stats["callbacks_failed"] == 2)
        assert stats["callbacks_sent"] == 0 and stats["delivered"] == 1
        provider.send(
            OutboundSMS(to="+12025550101", body="Hi", from_number="+1", status_callback="https://example.org/s")
        )
        simulator.stop()  # makes every queued callback first
        stats = simulator.stats.snapshot()
        assert (stats["accepted"], stats["callbacks_sent"], stats["callbacks_failed"]) == (2, 0, 2)
    finally:
        simulator.stop()


def test_stop_makes_the_queued_callbacks_first(receiver: Receiver) -> None:
    simulator = _simulator(callback_delay_ms=100)
    try:
        for i in range(3):
            _provider(simulator).send(
                OutboundSMS(to=f"+1202555010{i}", body="Hi", from_number="+1", status_callback=f"{receiver.url}/s")
            )
    finally:
        simulator.stop()
    assert len(receiver.posts) == 6
    assert simulator.stats.snapshot()["callbacks_sent"] == 6


def test_latency_delays_each_answer_but_not_the_other_connections() -> None:
    simulator = _simulator(latency_ms=300)
    try:
        provider = _provider(simulator)
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=6) as pool:
            list(
                pool.map(
                    lambda i: provider.send(OutboundSMS(to=f"+1312555{i:04d}", body="Hi", from_number="+1")),
                    range(6),
                )
            )
        elapsed = time.monotonic() - started
        assert 0.3 <= elapsed < 1.5, elapsed  # one after the other would take 1.8 s
        assert simulator.stats.snapshot()["accepted"] == 6
    finally:
        simulator.stop()


def _exchange(url: str, data: bytes, responses: int) -> list[tuple[int, dict[str, str], bytes]]:
    """Raw HTTP/1.1 over one connection: what came back, in order (status, headers, body)."""
    host, port = urllib.parse.urlsplit(url).hostname, urllib.parse.urlsplit(url).port
    with socket.create_connection((host, port), timeout=5) as connection:
        connection.sendall(data)
        received, answers = b"", []
        while len(answers) < responses:
            chunk = connection.recv(65536)
            if not chunk:
                break
            received += chunk
            while b"\r\n\r\n" in received:
                head, rest = received.split(b"\r\n\r\n", 1)
                lines = head.decode("latin-1").split("\r\n")
                headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
                length = int(headers.get("content-length", "0"))
                if len(rest) < length:
                    break
                answers.append((int(lines[0].split()[1]), headers, rest[:length]))
                received = rest[length:]
        if answers and answers[-1][1].get("connection") == "close":
            assert connection.recv(1) == b"", "the server should close after Connection: close"
    return answers


@pytest.mark.parametrize("latency_ms", [0, 50])
def test_pipelined_requests_are_answered_in_order(latency_ms: int) -> None:
    simulator = _simulator(latency_ms=latency_ms)
    try:
        auth = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
        form = b"To=%2B12025550100&Body=Hi&From=%2B15005550006"
        create = (
            f"POST /2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Basic {auth}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(form)}\r\n\r\n"
        ).encode() + form
        answers = _exchange(
            simulator.url,
            create
            + b"GET /stats HTTP/1.1\r\nHost: x\r\n\r\n"
            + b"GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n"
            + b"POST /stats/reset HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
            + b"PUT /stats HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"  # unsupported: answered, then closed
            + b"GET /stats HTTP/1.1\r\nHost: x\r\n\r\n",
            responses=6,
        )
        assert [status for status, _headers, _body in answers] == [201, 200, 404, 200, 501]
        created, stats, missing = (json.loads(body) for _status, _headers, body in answers[:3])
        assert created["sid"].startswith("SM") and created["status"] == "queued" and created["to"] == "+12025550100"
        assert stats["accepted"] == 1 and stats["per_to"] == {"+12025550100": 1}
        assert missing["code"] == 20404
        assert all(headers["content-type"] == "application/json" for _status, headers, _body in answers[:4])
        assert answers[0][1]["server"].startswith("SpokeTwilioSimulator/1.0") and answers[0][1]["date"]
        assert json.loads(answers[3][2]) == {"ok": True} and simulator.stats.snapshot()["accepted"] == 0
    finally:
        simulator.stop()
