"""The Twilio simulator, driven through the real twilio SDK (our Twilio provider)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import urllib.parse
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

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
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, count: int, timeout: float = 10) -> list[tuple[str, dict[str, str], bool]]:
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.posts) >= count, timeout=timeout), self.posts
            return list(self.posts)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
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

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
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
