"""A local Twilio: the Messages API the twilio SDK calls, and the signed callbacks Twilio makes.

For developers, tests and benchmarks (`manage.py twilio_simulator`). Point Spoke at it with
`TWILIO_API_BASE_URL=http://127.0.0.1:<port>` and the same account SID and auth token.

- `POST /2010-04-01/Accounts/<AccountSid>/Messages.json` checks HTTP basic auth (account SID and
  auth token) and the required parameters (To; Body or MediaUrl; From or MessagingServiceSid),
  answers 201 with a Twilio-shaped message (SID, status `accepted`/`queued`), or Twilio's error
  JSON (401 code 20003, 400 code 21xxx, 429 code 20429).
- Then, if the request named a `StatusCallback`, posts `sent` and `delivered` (or `undelivered` /
  `failed` with an ErrorCode) to it, signed with X-Twilio-Signature exactly as Twilio signs
  (the SDK's RequestValidator over the callback URL and the parameters).
- A share of delivered messages get a reply from the contact (some of them STOP), posted signed
  to the inbound webhook URL.
- `GET /stats` answers what it counted (messages accepted per `To`, duplicates, errors,
  callbacks); `POST /stats/reset` starts the count again; `--stats-file` keeps a copy on disk.

Loopback only: it binds to a loopback address and calls back only loopback URLs.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import logging
import random
import threading
import time
import urllib.parse
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import urllib3
from twilio.request_validator import RequestValidator

logger = logging.getLogger(__name__)

API_VERSION = "2010-04-01"
MESSAGES_PATH = f"/{API_VERSION}/Accounts/"
# Codes Twilio answers when the message is created (HTTP 400); the others come later, by callback.
FAILED_CODES = {30001, 30002, 30010, 63017}  # reported as `failed`; other 3xxxx as `undelivered`
REPLY_TEXT = "Yes, count me in!"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_failure(value: str) -> tuple[int, float]:
    """`CODE:SHARE`, e.g. `30007:0.05` (5% of messages fail with carrier filtering)."""
    try:
        code_text, share_text = value.split(":", 1)
        code, share = int(code_text), float(share_text)
    except ValueError as exc:
        raise ValueError(f"--fail takes CODE:SHARE, e.g. 30007:0.05 (not {value!r})") from exc
    if not 0 <= share <= 1:
        raise ValueError(f"the share in --fail {value} must be between 0 and 1")
    return code, share


@dataclass
class SimulatorConfig:
    account_sid: str
    auth_token: str
    host: str = "127.0.0.1"
    port: int = 0
    latency_ms: int = 0
    rate_limit: float = 0  # requests per second before answering 429; 0: none
    failures: list[tuple[int, float]] = field(default_factory=list)
    reply_rate: float = 0.0
    stop_share: float = 0.0
    inbound_url: str = ""
    callback_delay_ms: int = 0
    from_number: str = "+15005550006"
    seed: int | None = None
    stats_file: str = ""
    callback_workers: int = 16

    def __post_init__(self) -> None:
        if not is_loopback(self.host):
            raise ValueError(f"the simulator listens on loopback addresses only (127.0.0.1, ::1), not {self.host!r}")
        if sum(share for _code, share in self.failures) > 1:
            raise ValueError("the --fail shares add up to more than 1")
        for name in ("reply_rate", "stop_share"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name.replace('_', '-')} must be between 0 and 1")
        if self.inbound_url:
            _check_loopback_url(self.inbound_url)


def _check_loopback_url(url: str) -> None:
    host = urllib.parse.urlsplit(url).hostname or ""
    if not is_loopback(host):
        raise ValueError(f"the simulator calls back loopback URLs only, not {url!r}")


class Stats:
    """What the simulator received and did; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with getattr(self, "_lock", threading.Lock()):
            self.requests = 0
            self.accepted = 0
            self.per_to: Counter[str] = Counter()
            self.bodies_per_to: Counter[tuple[str, str]] = Counter()
            self.rejected: Counter[str] = Counter()  # by HTTP status and code, e.g. "400:21211"
            self.failed_later: Counter[int] = Counter()
            self.connections = 0
            self.delivered = 0
            self.callbacks_sent = 0
            self.callbacks_failed = 0
            self.replies_sent = 0
            self.stop_replies_sent = 0
            self.params_seen: Counter[str] = Counter()

    def add(self, **increments: int) -> None:
        with self._lock:
            for name, value in increments.items():
                setattr(self, name, getattr(self, name) + value)

    def record_accepted(self, to: str, body: str, params: dict[str, str]) -> None:
        with self._lock:
            self.accepted += 1
            self.per_to[to] += 1
            self.bodies_per_to[(to, body)] += 1
            self.params_seen.update(params.keys())

    def record_rejected(self, label: str) -> None:
        with self._lock:
            self.rejected[label] += 1

    def record_failed_later(self, code: int) -> None:
        with self._lock:
            self.failed_later[code] += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": self.requests,
                "accepted": self.accepted,
                "distinct_to": len(self.per_to),
                "duplicates": sum(count - 1 for count in self.bodies_per_to.values() if count > 1),
                "per_to": dict(self.per_to),
                "rejected": dict(self.rejected),
                "failed_later": {str(code): n for code, n in self.failed_later.items()},
                "connections": self.connections,
                "delivered": self.delivered,
                "callbacks_sent": self.callbacks_sent,
                "callbacks_failed": self.callbacks_failed,
                "replies_sent": self.replies_sent,
                "stop_replies_sent": self.stop_replies_sent,
                "params_seen": dict(self.params_seen),
            }


class RateLimiter:
    """A token bucket of `rate` requests per second (burst: one second's worth)."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.tokens = max(rate, 1.0)
        self.updated = time.monotonic()
        self.lock = threading.Lock()

    def allow(self) -> bool:
        if self.rate <= 0:
            return True
        with self.lock:
            now = time.monotonic()
            self.tokens = min(max(self.rate, 1.0), self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            if self.tokens >= 1:
                self.tokens -= 1
                return True
            return False


class TwilioSimulator:
    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.stats = Stats()
        self.random = random.Random(config.seed)
        self.random_lock = threading.Lock()
        self.limiter = RateLimiter(config.rate_limit)
        self.validator = RequestValidator(config.auth_token)
        self.http = urllib3.PoolManager(num_pools=4, maxsize=config.callback_workers, retries=False)
        self.callbacks = ThreadPoolExecutor(max_workers=config.callback_workers, thread_name_prefix="callback")
        self.server = ThreadingHTTPServer((config.host, config.port), _handler_for(self))
        self.server.daemon_threads = True
        self._thread: threading.Thread | None = None
        self._stats_thread: threading.Thread | None = None
        self._stopping = threading.Event()

    @property
    def url(self) -> str:
        host, port = str(self.server.server_address[0]), int(self.server.server_address[1])
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}"

    def start(self) -> TwilioSimulator:
        """Serve in background threads (tests); `serve_forever` serves in this one (the command)."""
        self._thread = threading.Thread(target=self.serve_forever, daemon=True, name="twilio-simulator")
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        if self.config.stats_file and self._stats_thread is None:
            self._stats_thread = threading.Thread(target=self._write_stats_loop, daemon=True)
            self._stats_thread.start()
        self.server.serve_forever(poll_interval=0.2)

    def stop(self) -> None:
        self._stopping.set()
        self.server.shutdown()
        self.server.server_close()
        self.callbacks.shutdown(wait=True, cancel_futures=False)
        self.write_stats()

    def write_stats(self) -> None:
        if self.config.stats_file:
            path = Path(self.config.stats_file)
            temporary = path.with_suffix(path.suffix + ".tmp")
            temporary.write_text(json.dumps(self.stats.snapshot()))
            temporary.replace(path)

    def _write_stats_loop(self) -> None:
        while not self._stopping.wait(0.5):
            self.write_stats()

    def chance(self) -> float:
        with self.random_lock:
            return self.random.random()

    def pick_failure(self) -> int | None:
        roll = self.chance()
        for code, share in self.config.failures:
            if roll < share:
                return code
            roll -= share
        return None

    # --- the Messages API

    def create_message(self, account_sid: str, auth_header: str, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        self.stats.add(requests=1)
        if not self._authenticated(account_sid, auth_header):
            self.stats.record_rejected("401:20003")
            return 401, _error(20003, "Authentication Error - invalid username", 401)
        problem = _missing_params(params)
        if problem is not None:
            code, text = problem
            self.stats.record_rejected(f"400:{code}")
            return 400, _error(code, text, 400)
        if not self.limiter.allow():
            self.stats.record_rejected("429:20429")
            return 429, _error(20429, "Too Many Requests", 429)
        if self.config.latency_ms:
            time.sleep(self.config.latency_ms / 1000)
        failure = self.pick_failure()
        if failure == 20429:
            self.stats.record_rejected("429:20429")
            return 429, _error(20429, "Too Many Requests", 429)
        if failure is not None and failure < 30000:
            self.stats.record_rejected(f"400:{failure}")
            return 400, _error(failure, f"Simulated error {failure}", 400)
        sid = f"SM{uuid.uuid4().hex}"
        self.stats.record_accepted(params["To"], params.get("Body", ""), params)
        message = _message_json(sid, account_sid, params)
        callback = params.get("StatusCallback", "")
        if callback:
            try:
                _check_loopback_url(callback)
            except ValueError:
                logger.warning("not calling back a non-loopback StatusCallback")
                callback = ""
        self.callbacks.submit(self._after_create, sid, account_sid, params, callback, failure)
        return 201, message

    def _authenticated(self, account_sid: str, auth_header: str) -> bool:
        if not auth_header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(auth_header[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return user == account_sid == self.config.account_sid and password == self.config.auth_token

    # --- what Twilio does afterwards

    def _after_create(
        self, sid: str, account_sid: str, params: dict[str, str], callback: str, failure: int | None
    ) -> None:
        try:
            base = {
                "AccountSid": account_sid,
                "ApiVersion": API_VERSION,
                "MessageSid": sid,
                "SmsSid": sid,
                "From": params.get("From", self.config.from_number),
                "To": params["To"],
            }
            if params.get("MessagingServiceSid"):
                base["MessagingServiceSid"] = params["MessagingServiceSid"]
            delay = self.config.callback_delay_ms / 1000
            if failure is not None:
                self.stats.record_failed_later(failure)
                final = "failed" if failure in FAILED_CODES else "undelivered"
                steps = [{"MessageStatus": "sent"}, {"MessageStatus": final, "ErrorCode": str(failure)}]
            else:
                steps = [{"MessageStatus": "sent"}, {"MessageStatus": "delivered"}]
            if failure is None:
                self.stats.add(delivered=1)
            if callback:
                for step in steps:
                    if delay:
                        time.sleep(delay)
                    self.post_signed(callback, {**base, **step, "SmsStatus": step["MessageStatus"]})
            if failure is None and self.config.inbound_url and self.chance() < self.config.reply_rate:
                self._reply(base, params)
        except Exception:
            logger.exception("simulated callbacks for %s failed", sid)

    def _reply(self, base: dict[str, str], params: dict[str, str]) -> None:
        is_stop = self.chance() < self.config.stop_share
        reply = {
            "AccountSid": base["AccountSid"],
            "ApiVersion": API_VERSION,
            "MessageSid": f"SM{uuid.uuid4().hex}",
            "SmsSid": "",
            "SmsMessageSid": "",
            "From": params["To"],
            "To": params.get("From", self.config.from_number),
            "Body": "STOP" if is_stop else REPLY_TEXT,
            "NumMedia": "0",
            "NumSegments": "1",
        }
        reply["SmsSid"] = reply["SmsMessageSid"] = reply["MessageSid"]
        if params.get("MessagingServiceSid"):
            reply["MessagingServiceSid"] = params["MessagingServiceSid"]
        if self.post_signed(self.config.inbound_url, reply):
            self.stats.add(replies_sent=1, stop_replies_sent=int(is_stop))

    def post_signed(self, url: str, params: dict[str, str]) -> bool:
        """POST form parameters signed like Twilio: X-Twilio-Signature over the URL and parameters."""
        signature = self.validator.compute_signature(url, params)
        try:
            response = self.http.request(
                "POST",
                url,
                fields=params,
                encode_multipart=False,
                headers={"X-Twilio-Signature": signature, "User-Agent": "TwilioProxy/1.1 (spoke simulator)"},
                timeout=urllib3.Timeout(connect=2, read=30),
            )
        except urllib3.exceptions.HTTPError:
            self.stats.add(callbacks_failed=1)
            logger.warning("callback to %s could not be delivered", url)
            return False
        ok = 200 <= response.status < 300
        self.stats.add(callbacks_sent=int(ok), callbacks_failed=int(not ok))
        return ok


def _missing_params(params: dict[str, str]) -> tuple[int, str] | None:
    if not params.get("To"):
        return 21604, "A 'To' phone number is required."
    if not params.get("Body") and not params.get("MediaUrl"):
        return 21602, "Message body is required."
    if not params.get("From") and not params.get("MessagingServiceSid"):
        return 21603, "A 'From' phone number or a 'MessagingServiceSid' is required."
    validity = params.get("ValidityPeriod")
    if validity is not None and (not validity.isdigit() or not 1 <= int(validity) <= 36000):
        return 21609, "ValidityPeriod must be a whole number of seconds between 1 and 36000."
    return None


def _error(code: int, message: str, status: int) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def _message_json(sid: str, account_sid: str, params: dict[str, str]) -> dict[str, Any]:
    now = formatdate(usegmt=True)
    body = params.get("Body", "")
    service = params.get("MessagingServiceSid")
    return {
        "account_sid": account_sid,
        "api_version": API_VERSION,
        "body": body,
        "date_created": now,
        "date_sent": None,
        "date_updated": now,
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": params.get("From"),
        "messaging_service_sid": service,
        "num_media": "0",
        "num_segments": "1" if len(body) <= 160 else str(-(-len(body) // 153)),
        "price": None,
        "price_unit": "USD",
        "sid": sid,
        "status": "accepted" if service else "queued",
        "subresource_uris": {"media": f"/{API_VERSION}/Accounts/{account_sid}/Messages/{sid}/Media.json"},
        "to": params.get("To"),
        "uri": f"/{API_VERSION}/Accounts/{account_sid}/Messages/{sid}.json",
    }


def _handler_for(simulator: TwilioSimulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's session expects
        server_version = "SpokeTwilioSimulator/1.0"

        def setup(self) -> None:
            super().setup()
            simulator.stats.add(connections=1)  # one per TCP connection: keep-alive shows as few

        def _reply(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> bytes:
            length = int(self.headers.get("Content-Length", "0") or 0)
            return self.rfile.read(length) if length else b""

        def do_POST(self) -> None:
            path = urllib.parse.urlsplit(self.path).path
            body = self._body()
            if path == "/stats/reset":
                simulator.stats.reset()
                self._reply(200, {"ok": True})
                return
            parts = path.split("/")
            # /2010-04-01/Accounts/<sid>/Messages.json
            if path.startswith(MESSAGES_PATH) and len(parts) == 5 and parts[4] == "Messages.json":
                params = dict(urllib.parse.parse_qsl(body.decode(), keep_blank_values=True))
                status, payload = simulator.create_message(parts[3], self.headers.get("Authorization", ""), params)
                self._reply(status, payload)
                return
            self._reply(404, _error(20404, "The requested resource was not found", 404))

        def do_GET(self) -> None:
            if urllib.parse.urlsplit(self.path).path == "/stats":
                self._reply(200, simulator.stats.snapshot())
                return
            self._reply(404, _error(20404, "The requested resource was not found", 404))

        def log_message(self, format: str, *args: Any) -> None:
            logger.debug("simulator: " + format, *args)

    return Handler
