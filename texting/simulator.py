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

It stands in for Twilio in the benchmark, on the same cores as what is measured, so it is built
to cost little CPU per message: one asyncio event loop (uvloop when installed) in a background
thread serves the API over keep-alive connections with httptools' C parser, and posts the
callbacks over its own keep-alive connections (at most `callback_workers` messages' callbacks in
flight, each message's in order), one write per request or response.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import json
import logging
import random
import re
import socket
import ssl
import sys
import threading
import time
import urllib.parse
import uuid
from collections import Counter, deque
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus
from pathlib import Path
from typing import Any, cast

import httptools
from twilio.request_validator import RequestValidator

try:
    import uvloop
except ImportError:  # pragma: no cover - uvloop is in requirements.txt; plain asyncio works too
    uvloop = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)

API_VERSION = "2010-04-01"
MESSAGES_PATH = f"/{API_VERSION}/Accounts/"
# Codes Twilio answers when the message is created (HTTP 400); the others come later, by callback.
FAILED_CODES = {30001, 30002, 30010, 63017}  # reported as `failed`; other 3xxxx as `undelivered`
REPLY_TEXT = "Yes, count me in!"
SERVER_VERSION = f"SpokeTwilioSimulator/1.0 Python/{sys.version.split()[0]}"
USER_AGENT = "TwilioProxy/1.1 (spoke simulator)"
CONNECT_TIMEOUT, READ_TIMEOUT = 2.0, 30.0  # seconds, for each callback


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


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where a callback URL's requests go: checked once per scheme and host:port, not per call."""

    scheme: str
    host: str
    port: int
    host_header: str
    loopback: bool
    problem: str = ""  # why requests to it cannot be made (an unknown scheme, a bad port)


_URL = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://([^/?#]*)([^#]*)")
_endpoints: dict[tuple[str, str], Endpoint] = {}


def _endpoint(url: str) -> tuple[Endpoint | None, str]:
    """The URL's endpoint (None: not a URL) and the request target (path and query)."""
    match = _URL.match(url)
    if match is None:
        return None, ""
    scheme, netloc, target = match.groups()
    key = (scheme, netloc)
    endpoint = _endpoints.get(key)
    if endpoint is None:
        if len(_endpoints) > 1000:
            _endpoints.clear()
        endpoint = _endpoints[key] = _make_endpoint(scheme.lower(), netloc)
    if not target:
        target = "/"
    elif target[0] == "?":
        target = "/" + target
    if not target.isascii() or " " in target:  # as urllib3 sends them
        target = urllib.parse.quote(target, safe="/?#[]@!$&'()*+,;=:%~")
    return endpoint, target


def _make_endpoint(scheme: str, netloc: str) -> Endpoint:
    parts = urllib.parse.urlsplit(f"{scheme}://{netloc}")
    host = parts.hostname or ""
    loopback = is_loopback(host)
    problem, port = "", 0
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        problem = "a bad port"
    if scheme not in ("http", "https"):
        problem = f"the scheme {scheme!r}"
    host_header = netloc.rpartition("@")[2]
    return Endpoint(scheme, host, port, host_header, loopback, problem)


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

    def record_callback(self, ok: bool) -> None:
        with self._lock:
            if ok:
                self.callbacks_sent += 1
            else:
                self.callbacks_failed += 1

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


class _Params(dict[str, str]):
    """Callback parameters as the SDK's RequestValidator reads a MultiDict (one value each): the
    same signature as for a plain dict, without its two caught AttributeErrors per parameter."""

    def getall(self, name: str) -> list[str]:
        return [self[name]]


@dataclass(slots=True)
class _Callbacks:
    """What Twilio does after accepting a message: its status callbacks, maybe a reply."""

    sid: str
    account_sid: str
    params: dict[str, str]
    callback: str
    endpoint: Endpoint | None
    target: str
    failure: int | None


class TwilioSimulator:
    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.stats = Stats()
        self.random = random.Random(config.seed)
        self.random_lock = threading.Lock()
        self.limiter = RateLimiter(config.rate_limit)
        self.validator = RequestValidator(config.auth_token)
        self._expected_authorization = "Basic " + base64.b64encode(
            f"{config.account_sid}:{config.auth_token}".encode()
        ).decode("ascii")
        self._inbound = _endpoint(config.inbound_url) if config.inbound_url else (None, "")
        # Bound (and listening) now, as the command prints the URL before serving.
        family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
        self.socket = socket.socket(family, socket.SOCK_STREAM)
        try:
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.socket.bind((config.host, config.port))
            self.socket.listen(128)
        except OSError:
            self.socket.close()
            raise
        self.server_address = self.socket.getsockname()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stats_thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._start_error: BaseException | None = None
        self._stopping = threading.Event()
        self._stopped = False
        self._state_lock = threading.Lock()
        # Owned by the event loop's thread:
        self._server: asyncio.AbstractServer | None = None
        self._queue: asyncio.Queue[_Callbacks] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._slow_requests: set[asyncio.Task[Any]] = set()
        self._api_connections: set[_ApiConnection] = set()
        self._idle: dict[Endpoint, list[_CallbackConnection]] = {}
        self._date = (0, "")

    @property
    def url(self) -> str:
        host, port = str(self.server_address[0]), int(self.server_address[1])
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}"

    def start(self) -> TwilioSimulator:
        """Serve in background threads (tests); `serve_forever` serves until `stop` (the command)."""
        with self._state_lock:
            if self._thread is not None or self._stopped:
                return self
            self._loop = uvloop.new_event_loop() if uvloop is not None else asyncio.new_event_loop()
            self._thread = threading.Thread(target=self._run, daemon=True, name="twilio-simulator")
            self._thread.start()
            self._ready.wait()
            if self._start_error is not None:
                raise self._start_error
            if self.config.stats_file:
                self._stats_thread = threading.Thread(target=self._write_stats_loop, daemon=True)
                self._stats_thread.start()
        return self

    def serve_forever(self) -> None:
        self.start()
        while not self._stopping.wait(0.5):
            pass

    def stop(self) -> None:
        with self._state_lock:
            if self._stopped:
                return
            self._stopped = True
        self._stopping.set()
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None and thread.is_alive():
            # Like the thread pool it replaces, waits for every queued callback to be made.
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result()
            loop.call_soon_threadsafe(loop.stop)
            thread.join()
            loop.close()
        self.socket.close()
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

    def _run(self) -> None:
        loop = self._loop
        assert loop is not None
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._open())
        except BaseException as exc:
            self._start_error = exc
            loop.close()
            return
        finally:
            self._ready.set()
        loop.run_forever()

    async def _open(self) -> None:
        loop = asyncio.get_running_loop()
        self._queue = asyncio.Queue()
        for _ in range(max(self.config.callback_workers, 1)):
            self._spawn(self._callback_worker())
        self._server = await loop.create_server(lambda: _ApiConnection(self), sock=self.socket)

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for api_connection in list(self._api_connections):
            api_connection.close()
        for task in list(self._slow_requests):
            task.cancel()
        if self._queue is not None:
            await self._queue.join()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for idle in self._idle.values():
            for connection in idle:
                connection.close()
        self._idle.clear()
        await asyncio.sleep(0)  # the transports' closing

    def _spawn(self, coroutine: Any, *, slow_request: bool = False) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coroutine)
        tasks = self._slow_requests if slow_request else self._tasks
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        return task

    def http_date(self) -> str:
        """`formatdate(usegmt=True)`, computed once a second."""
        now = int(time.time())
        if self._date[0] != now:
            self._date = (now, formatdate(now, usegmt=True))
        return self._date[1]

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

    def check_message(
        self, account_sid: str, auth_header: str, params: dict[str, str]
    ) -> tuple[int, dict[str, Any]] | None:
        """A create request's refusal before the latency (credentials, parameters, rate), or None."""
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
        return None

    def accept_message(self, account_sid: str, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """After the latency: a simulated failure, or the message accepted and its callbacks queued."""
        failure = self.pick_failure()
        if failure == 20429:
            self.stats.record_rejected("429:20429")
            return 429, _error(20429, "Too Many Requests", 429)
        if failure is not None and failure < 30000:
            self.stats.record_rejected(f"400:{failure}")
            return 400, _error(failure, f"Simulated error {failure}", 400)
        sid = f"SM{uuid.uuid4().hex}"
        self.stats.record_accepted(params["To"], params.get("Body", ""), params)
        message = _message_json(sid, account_sid, params, self.http_date())
        callback = params.get("StatusCallback", "")
        endpoint, target = _endpoint(callback) if callback else (None, "")
        if callback and (endpoint is None or not endpoint.loopback):
            logger.warning("not calling back a non-loopback StatusCallback")
            callback = ""
        assert self._queue is not None, "the simulator is not serving"
        self._queue.put_nowait(_Callbacks(sid, account_sid, params, callback, endpoint, target, failure))
        return 201, message

    def _authenticated(self, account_sid: str, auth_header: str) -> bool:
        if auth_header == self._expected_authorization and account_sid == self.config.account_sid:
            return True  # the SDK's header, byte for byte: no need to decode it
        if not auth_header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(auth_header[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return user == account_sid == self.config.account_sid and password == self.config.auth_token

    # --- what Twilio does afterwards

    async def _callback_worker(self) -> None:
        queue = self._queue
        assert queue is not None
        while True:
            job = await queue.get()
            try:
                await self._after_create(job)
            finally:
                queue.task_done()

    async def _after_create(self, job: _Callbacks) -> None:
        sid, params, failure = job.sid, job.params, job.failure
        try:
            base = {
                "AccountSid": job.account_sid,
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
            if job.callback:
                for step in steps:
                    if delay:
                        await asyncio.sleep(delay)
                    await self._post_signed(
                        job.callback,
                        job.endpoint,
                        job.target,
                        _Params({**base, **step, "SmsStatus": step["MessageStatus"]}),
                    )
            if failure is None and self.config.inbound_url and self.chance() < self.config.reply_rate:
                await self._reply(base, params)
        except Exception:
            logger.exception("simulated callbacks for %s failed", sid)

    async def _reply(self, base: dict[str, str], params: dict[str, str]) -> None:
        is_stop = self.chance() < self.config.stop_share
        reply = _Params(
            {
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
        )
        reply["SmsSid"] = reply["SmsMessageSid"] = reply["MessageSid"]
        if params.get("MessagingServiceSid"):
            reply["MessagingServiceSid"] = params["MessagingServiceSid"]
        endpoint, target = self._inbound
        if await self._post_signed(self.config.inbound_url, endpoint, target, reply):
            self.stats.add(replies_sent=1, stop_replies_sent=int(is_stop))

    async def _post_signed(self, url: str, endpoint: Endpoint | None, target: str, params: _Params) -> bool:
        """POST form parameters signed like Twilio: X-Twilio-Signature over the URL and parameters."""
        signature = self.validator.compute_signature(url, params)
        body = urllib.parse.urlencode(params).encode()
        try:
            if endpoint is None or endpoint.problem:
                raise ValueError(f"cannot post to {url!r}: {endpoint.problem if endpoint else 'not a URL'}")
            request = (
                f"POST {target} HTTP/1.1\r\nHost: {endpoint.host_header}\r\nUser-Agent: {USER_AGENT}\r\n"
                f"Accept-Encoding: identity\r\nX-Twilio-Signature: {signature}\r\n"
                f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode() + body
            connection = await self._connection(endpoint)
            status = await connection.request(request)
        except (OSError, ValueError, TimeoutError, httptools.HttpParserError):
            self.stats.record_callback(False)
            logger.warning("callback to %s could not be delivered", url)
            return False
        if connection.reusable:
            self._idle.setdefault(endpoint, []).append(connection)
        else:
            connection.close()
        ok = 200 <= status < 300
        self.stats.record_callback(ok)
        return ok

    async def _connection(self, endpoint: Endpoint) -> _CallbackConnection:
        """A kept-alive connection to the endpoint, or a new one."""
        idle = self._idle.get(endpoint)
        while idle:
            connection = idle.pop()
            if connection.usable():
                return connection
        loop = asyncio.get_running_loop()
        context = ssl.create_default_context() if endpoint.scheme == "https" else None
        async with asyncio.timeout(CONNECT_TIMEOUT):
            _transport, connection = await loop.create_connection(
                _CallbackConnection, endpoint.host, endpoint.port, ssl=context
            )
        return connection


class _ApiConnection(asyncio.Protocol):
    """One client connection to the Messages API: keep-alive, requests answered in order."""

    def __init__(self, simulator: TwilioSimulator) -> None:
        self.simulator = simulator
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.target = b""
        self.authorization = b""
        self.body: list[bytes] = []
        # Requests that arrived while one waits out the latency; None when none waits.
        self.backlog: deque[tuple[bytes, str, str, bytes, bool]] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's are not asyncio.Transport subclasses
        self.simulator._api_connections.add(self)
        self.simulator.stats.add(connections=1)  # one per TCP connection: keep-alive shows as few

    def connection_lost(self, exc: Exception | None) -> None:
        self.simulator._api_connections.discard(self)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade):
            self.respond(400, _error(400, "Bad Request", 400), keep_alive=False)

    # httptools' callbacks
    def on_message_begin(self) -> None:
        self.target = b""
        self.authorization = b""
        self.body = []

    def on_url(self, url: bytes) -> None:
        self.target += url

    def on_header(self, name: bytes, value: bytes) -> None:
        if len(name) == 13 and name.lower() == b"authorization":
            self.authorization = value

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        request = (
            self.parser.get_method(),
            self.target.decode("latin-1"),
            self.authorization.decode("latin-1"),
            b"".join(self.body),
            self.parser.should_keep_alive(),
        )
        if self.backlog is not None:
            self.backlog.append(request)
        else:
            self.handle(*request)

    def handle(self, method: bytes, target: str, authorization: str, body: bytes, keep_alive: bool) -> None:
        simulator = self.simulator
        path = target.partition("?")[0].partition("#")[0]
        if method == b"POST":
            if path == "/stats/reset":
                simulator.stats.reset()
                self.respond(200, {"ok": True}, keep_alive)
                return
            parts = path.split("/")
            # /2010-04-01/Accounts/<sid>/Messages.json
            if path.startswith(MESSAGES_PATH) and len(parts) == 5 and parts[4] == "Messages.json":
                params = dict(urllib.parse.parse_qsl(body.decode(errors="replace"), keep_blank_values=True))
                refused = simulator.check_message(parts[3], authorization, params)
                if refused is not None:
                    self.respond(*refused, keep_alive)
                elif simulator.config.latency_ms:
                    self.backlog = deque()
                    simulator._spawn(self.slow_accept(parts[3], params, keep_alive), slow_request=True)
                else:
                    self.respond(*simulator.accept_message(parts[3], params), keep_alive)
                return
        elif method == b"GET":
            if path == "/stats":
                self.respond(200, simulator.stats.snapshot(), keep_alive)
                return
        else:  # answered, and the connection closed, as http.server does
            self.respond(501, _error(501, f"Unsupported method ({method.decode('latin-1')!r})", 501), False)
            return
        self.respond(404, _error(20404, "The requested resource was not found", 404), keep_alive)

    async def slow_accept(self, account_sid: str, params: dict[str, str], keep_alive: bool) -> None:
        """Answers after `latency_ms`, then the requests that came meanwhile, in order. Like Twilio,
        a message is accepted even if the client has gone by then."""
        await asyncio.sleep(self.simulator.config.latency_ms / 1000)
        self.respond(*self.simulator.accept_message(account_sid, params), keep_alive)
        backlog, self.backlog = self.backlog, None
        while backlog:
            self.handle(*backlog.popleft())
            if self.backlog is not None:  # waiting again: the rest stay behind it
                self.backlog.extend(backlog)
                break

    def respond(self, status: int, payload: dict[str, Any], keep_alive: bool = True) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        data = json.dumps(payload).encode()
        head = (
            f"HTTP/1.1 {status} {_PHRASES.get(status, '')}\r\nServer: {SERVER_VERSION}\r\n"
            f"Date: {self.simulator.http_date()}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n"
        )
        if not keep_alive:
            head += "Connection: close\r\n"
        transport.write(head.encode() + b"\r\n" + data)  # one write: no Nagle/delayed-ACK stall
        if not keep_alive:
            transport.close()


class _CallbackConnection(asyncio.Protocol):
    """A kept-alive client connection for the callbacks: one request at a time."""

    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[int] | None = None
        self.status = 0
        self.open = True
        self.reusable = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's are not asyncio.Transport subclasses

    def usable(self) -> bool:
        return self.open and self.transport is not None and not self.transport.is_closing()

    def close(self) -> None:
        self.open = False
        if self.transport is not None:
            self.transport.close()

    async def request(self, data: bytes) -> int:
        """Sends a request and waits for its response's status."""
        assert self.transport is not None
        loop = asyncio.get_running_loop()
        self.status, self.reusable = 0, False
        waiter = self.waiter = loop.create_future()
        timer = loop.call_later(READ_TIMEOUT, self._timed_out)
        try:
            self.transport.write(data)
            return await waiter
        except BaseException:
            self.close()
            raise
        finally:
            timer.cancel()
            self.waiter = None

    def _timed_out(self) -> None:
        self._finish(TimeoutError("no answer to a callback"))
        self.close()

    def _finish(self, outcome: int | BaseException) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            if isinstance(outcome, BaseException):
                waiter.set_exception(outcome)
            else:
                waiter.set_result(outcome)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade) as exc:
            self._finish(httptools.HttpParserError(str(exc)))
            self.close()

    def eof_received(self) -> bool:
        self.open = False
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.open = False
        if self.status:  # a response without a length ends when the connection does
            self._finish(self.status)
        self._finish(ConnectionResetError("the callback's connection closed before its answer"))

    # httptools' callbacks
    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()

    def on_message_complete(self) -> None:
        self.reusable = self.open and self.parser.should_keep_alive()
        self._finish(self.status)


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


def _message_json(sid: str, account_sid: str, params: dict[str, str], now: str = "") -> dict[str, Any]:
    now = now or formatdate(usegmt=True)
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


_PHRASES = {status.value: status.phrase for status in HTTPStatus}
