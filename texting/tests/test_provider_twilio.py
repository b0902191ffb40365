"""The Twilio provider through the official SDK, against a Twilio-shaped server on loopback."""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from texting.providers.base import FailureKind, OutboundSMS, ProviderError
from texting.providers.twilio import TwilioProvider

ACCOUNT = "ACtest00000000000000000000000000"


@dataclass
class FakeTwilio:
    """Answers POST /2010-04-01/Accounts/<sid>/Messages.json like Twilio: a JSON body and a status."""

    status: int = 201
    body: dict[str, object] = field(default_factory=lambda: {"sid": "SMabc123", "status": "accepted"})
    delay: float = 0.0
    raw: bytes | None = None  # a body to send as is instead of `body` (malformed JSON)
    requests: list[dict[str, str]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)


@pytest.fixture
def twilio_server() -> Iterator[tuple[FakeTwilio, str]]:
    state = FakeTwilio()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            state.requests.append(dict(urllib.parse.parse_qsl(self.rfile.read(length).decode())))
            state.paths.append(self.path)
            time.sleep(state.delay)
            payload = state.raw if state.raw is not None else json.dumps(state.body).encode()
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _provider(base_url: str, timeout: float = 5) -> TwilioProvider:
    return TwilioProvider(account_sid=ACCOUNT, auth_token="token", api_base_url=base_url, timeout_seconds=timeout)


def test_send_posts_the_message_with_callback_and_validity_period(twilio_server: tuple[FakeTwilio, str]) -> None:
    state, url = twilio_server
    send_before = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
    result = _provider(url).send(
        OutboundSMS(
            to="+12025550100",
            body="Hi there",
            messaging_service_sid="MGservice",
            status_callback="https://spoke.example.org/webhooks/twilio/status",
            send_before=send_before,
        )
    )
    assert (result.sid, result.status) == ("SMabc123", "accepted")
    assert state.paths == [f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"]
    sent = state.requests[0]
    assert sent["To"] == "+12025550100" and sent["Body"] == "Hi there"
    assert sent["MessagingServiceSid"] == "MGservice" and "From" not in sent
    assert sent["StatusCallback"] == "https://spoke.example.org/webhooks/twilio/status"
    assert 7100 <= int(sent["ValidityPeriod"]) <= 7200


def test_validity_period_is_capped_at_twilios_four_hours(twilio_server: tuple[FakeTwilio, str]) -> None:
    state, url = twilio_server
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=9)
    _provider(url).send(OutboundSMS(to="+12025550100", body="x", from_number="+15005550006", send_before=later))
    assert state.requests[0]["ValidityPeriod"] == "14400"
    assert state.requests[0]["From"] == "+15005550006"


def test_a_message_past_its_window_is_not_sent(twilio_server: tuple[FakeTwilio, str]) -> None:
    state, url = twilio_server
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)
    with pytest.raises(ProviderError) as excinfo:
        _provider(url).send(OutboundSMS(to="+12025550100", body="x", send_before=past))
    assert excinfo.value.kind is FailureKind.PERMANENT
    assert state.requests == []


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (429, 20429, FailureKind.TRANSIENT),
        (503, None, FailureKind.TRANSIENT),
        (400, 21211, FailureKind.PERMANENT),
        (400, 21610, FailureKind.PERMANENT),
    ],
)
def test_error_answers_map_to_retry_rules(
    twilio_server: tuple[FakeTwilio, str], status: int, code: int | None, kind: FailureKind
) -> None:
    state, url = twilio_server
    state.status = status
    state.body = {"code": code, "message": "refused", "status": status}
    with pytest.raises(ProviderError) as excinfo:
        _provider(url).send(OutboundSMS(to="+12025550100", body="x", from_number="+15005550006"))
    assert excinfo.value.kind is kind
    assert excinfo.value.code == code


def test_connection_refused_is_transient() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens on the port now: the request never left.
    with pytest.raises(ProviderError) as excinfo:
        _provider(f"http://127.0.0.1:{port}").send(OutboundSMS(to="+12025550100", body="x", from_number="+15005550006"))
    assert excinfo.value.kind is FailureKind.TRANSIENT


def test_no_answer_after_sending_is_ambiguous(twilio_server: tuple[FakeTwilio, str]) -> None:
    state, url = twilio_server
    state.delay = 1.5
    with pytest.raises(ProviderError) as excinfo:
        _provider(url, timeout=0.5).send(OutboundSMS(to="+12025550100", body="x", from_number="+15005550006"))
    assert excinfo.value.kind is FailureKind.AMBIGUOUS
    assert len(state.requests) == 1


def test_without_a_messaging_service_it_sends_from_the_configured_number(
    twilio_server: tuple[FakeTwilio, str],
) -> None:
    state, url = twilio_server
    provider = TwilioProvider(account_sid=ACCOUNT, auth_token="token", api_base_url=url, from_number="+15005550009")
    provider.send(OutboundSMS(to="+12025550100", body="x"))
    assert state.requests[0]["From"] == "+15005550009" and "MessagingServiceSid" not in state.requests[0]


def test_with_neither_a_messaging_service_nor_a_number_it_says_what_to_set(
    twilio_server: tuple[FakeTwilio, str],
) -> None:
    state, url = twilio_server
    with pytest.raises(ProviderError, match="TWILIO_FROM_NUMBER") as excinfo:
        _provider(url).send(OutboundSMS(to="+12025550100", body="x"))
    assert excinfo.value.kind is FailureKind.PERMANENT and state.requests == []


def test_an_organizations_own_account_is_used_when_given(settings) -> None:  # type: ignore[no-untyped-def]
    from texting.providers import get_provider

    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = "ACserver", "server-token"
    own = get_provider("twilio", account_sid="ACorg", auth_token="org-token")
    server = get_provider("twilio")
    assert isinstance(own, TwilioProvider) and isinstance(server, TwilioProvider)
    assert (own.client.username, own.client.password) == ("ACorg", "org-token")
    assert (server.client.username, server.client.password) == ("ACserver", "server-token")


def test_credentials_never_reach_the_logs(
    twilio_server: tuple[FakeTwilio, str], caplog: pytest.LogCaptureFixture
) -> None:
    _state, url = twilio_server
    provider = TwilioProvider(account_sid=ACCOUNT, auth_token="secret-token-xyz", api_base_url=url)
    with caplog.at_level("DEBUG"):
        provider.send(OutboundSMS(to="+12025550100", body="x", from_number="+15005550006"))
    assert "secret-token-xyz" not in caplog.text + repr(provider)
    caplog.clear()
    # At the production log level not even the account SID (the SDK logs request URLs at INFO).
    with caplog.at_level("INFO"):
        provider.send(OutboundSMS(to="+12025550100", body="x", from_number="+15005550006"))
    assert ACCOUNT not in caplog.text


def test_one_provider_per_process_and_credentials(settings: Any) -> None:
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = ACCOUNT, "token"
    settings.TWILIO_API_BASE_URL = "http://127.0.0.1:9"
    server_account = TwilioProvider.from_settings()
    assert TwilioProvider.from_settings() is server_account  # its client and keep-alive pool are reused
    organization_account = TwilioProvider.from_settings(account_sid="AC" + "1" * 32, auth_token="theirs")
    assert organization_account is not server_account
    assert TwilioProvider.from_settings(account_sid="AC" + "1" * 32, auth_token="theirs") is organization_account
    settings.TWILIO_API_BASE_URL = "http://127.0.0.1:10"  # changed settings: a new client
    assert TwilioProvider.from_settings() is not server_account


def test_proxy_and_ca_bundle_come_from_the_environment_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    to_twilio = TwilioProvider(account_sid=ACCOUNT, auth_token="token")
    client = to_twilio.client.http_client
    assert client.proxy == {"https": "http://proxy.internal:3128"}  # type: ignore[attr-defined]
    assert client.session.verify == "/etc/ssl/certs/ca-certificates.crt"  # type: ignore[attr-defined]
    assert client.session.trust_env is False  # type: ignore[attr-defined]  # not read again per request
    # The local simulator is in NO_PROXY: no proxy for it.
    local = TwilioProvider(account_sid=ACCOUNT, auth_token="token", api_base_url="http://127.0.0.1:9")
    assert local.client.http_client.proxy is None  # type: ignore[attr-defined]
