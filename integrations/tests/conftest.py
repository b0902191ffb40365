"""A real HTTP receiver on loopback that checks each request's signature like an integrator would."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from accounts.models import Organization
from integrations.models import Event, WebhookEndpoint
from integrations.services import endpoint_create
from integrations.signing import SIGNATURE_HEADER, signature_verify


@dataclass
class Receiver:
    url: str
    secret: str = ""
    answers: list[int] = field(default_factory=list)  # status codes to answer, in order; then 200
    received: list[dict[str, Any]] = field(default_factory=list)
    bad_signatures: int = 0

    @property
    def events(self) -> list[str]:
        return [body["event"] for body in self.received]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if not signature_verify(secret=state.secret, body=body, header=self.headers.get(SIGNATURE_HEADER, "")):
                state.bad_signatures += 1
                self.send_response(401)
                self.end_headers()
                return
            state.received.append(json.loads(body))
            code = state.answers.pop(0) if state.answers else 200
            self.send_response(code)
            self.end_headers()
            self.wfile.write(b"thanks" if code == 200 else b"try later")

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def endpoint(organization: Organization, receiver: Receiver) -> WebhookEndpoint:
    """An endpoint of the organization subscribed to every event, pointing at the receiver."""
    created = endpoint_create(organization=organization, url=receiver.url, events=Event.values)
    receiver.secret = created.secret
    return created
