"""Twilio, through the official SDK. Knows Twilio's API and nothing of our models."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import math
import os

import requests
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from requests.adapters import HTTPAdapter
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from urllib3.exceptions import NameResolutionError, NewConnectionError

from texting.providers.base import (
    FailureKind,
    InboundSMS,
    OutboundSMS,
    ProviderError,
    SendResult,
    StatusReport,
)

TWILIO_API = "https://api.twilio.com"
# Twilio accepts a validity period between 1 second and 4 hours (14,400 s).
MAX_VALIDITY_SECONDS = 14_400

# The SDK logs every request's URL (with the account SID) at INFO: ours logs only problems.
_http_logger = logging.getLogger("texting.providers.twilio.http")
_http_logger.setLevel(logging.WARNING)


class TwilioProvider:
    """Sends through Twilio's Messages API. Safe to share between threads: one keep-alive
    connection pool (sized for `concurrency` parallel sends) serves them all."""

    name = "twilio"

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        api_base_url: str = "",
        timeout_seconds: float = 10,
        from_number: str = "",
        concurrency: int = 8,
    ) -> None:
        if not account_sid or not auth_token:
            raise ImproperlyConfigured("SMS_BACKEND=twilio needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN.")
        # A bounded wait, so a hung request cannot stall a worker.
        http_client = TwilioHttpClient(timeout=timeout_seconds, logger=_http_logger)
        if http_client.session is not None:
            # Keep-alive connections for every parallel send (the SDK's own pool covers https only).
            adapter = HTTPAdapter(pool_connections=2, pool_maxsize=max(concurrency, 1))
            http_client.session.mount("https://", adapter)
            http_client.session.mount("http://", adapter)
            # requests reads the proxy and CA-bundle variables from the environment on every request
            # (a tenth of a worker's CPU in the benchmark's profile): read them once, here.
            # (None when NO_PROXY covers the API's host; the "no" entry is requests' own bookkeeping.)
            proxies = requests.utils.get_environ_proxies(api_base_url or TWILIO_API)
            http_client.proxy = {scheme: url for scheme, url in proxies.items() if scheme != "no"} or None
            if ca_bundle := os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE"):
                http_client.session.verify = ca_bundle
            http_client.session.trust_env = False
        self.client = Client(account_sid, auth_token, http_client=http_client)
        self.from_number = from_number
        if api_base_url:
            # Point the SDK at a Twilio-compatible server (the local simulator in tests and benchmarks).
            self.client.api.base_url = api_base_url.rstrip("/")

    def __repr__(self) -> str:
        # Never the credentials, whoever prints this.
        return f"TwilioProvider(base_url={self.client.api.base_url!r})"

    @classmethod
    def from_settings(cls, *, account_sid: str = "", auth_token: str = "") -> TwilioProvider:
        """The server's Twilio account, or an organization's own when its credentials are given.

        One per process and set of credentials and settings: building the SDK's client and its
        keep-alive pool was a sixth of a worker's CPU when every drain job built its own, and a
        shared one keeps its connections to Twilio open from one drain to the next.
        """
        return _shared_provider(
            account_sid=account_sid or settings.TWILIO_ACCOUNT_SID,
            auth_token=auth_token or settings.TWILIO_AUTH_TOKEN,
            api_base_url=settings.TWILIO_API_BASE_URL,
            timeout_seconds=settings.TWILIO_TIMEOUT_SECONDS,
            from_number=settings.TWILIO_FROM_NUMBER,
            concurrency=settings.SEND_CONCURRENCY,
        )

    def send(self, message: OutboundSMS) -> SendResult:
        params: dict[str, object] = {"to": message.to, "body": message.body}
        if message.messaging_service_sid:
            params["messaging_service_sid"] = message.messaging_service_sid
        elif message.from_number or self.from_number:
            params["from_"] = message.from_number or self.from_number
        else:
            raise ProviderError(
                "No messaging service or from-number: set TWILIO_MESSAGING_SERVICE_SID (or the organization's "
                "messaging service) or TWILIO_FROM_NUMBER.",
                kind=FailureKind.PERMANENT,
            )
        if message.status_callback:
            params["status_callback"] = message.status_callback
        if message.send_before is not None:
            seconds = math.floor((message.send_before - dt.datetime.now(dt.UTC)).total_seconds())
            if seconds < 1:
                raise ProviderError("Texting hours ended before sending", kind=FailureKind.PERMANENT)
            params["validity_period"] = min(seconds, MAX_VALIDITY_SECONDS)
        try:
            created = self.client.messages.create(**params)  # type: ignore[arg-type]
        except TwilioRestException as exc:
            # 429 and 5xx are answers given before Twilio accepted the message: safe to retry.
            transient = exc.status == 429 or exc.status >= 500
            kind = FailureKind.TRANSIENT if transient else FailureKind.PERMANENT
            raise ProviderError(f"Twilio answered {exc.status}", kind=kind, code=exc.code) from exc
        except requests.exceptions.RequestException as exc:
            if _never_connected(exc):
                raise ProviderError("Twilio could not be reached", kind=FailureKind.TRANSIENT) from exc
            # The request may have left: Twilio may have accepted it, so it is not retried blindly.
            raise ProviderError("No answer from Twilio", kind=FailureKind.AMBIGUOUS) from exc
        except TwilioException as exc:
            raise ProviderError(f"Twilio client error: {type(exc).__name__}", kind=FailureKind.TRANSIENT) from exc
        return SendResult(sid=str(created.sid), status=str(created.status))

    def reactions(self, message: OutboundSMS, result: SendResult) -> tuple[list[StatusReport], list[InboundSMS]]:
        # Twilio reports by calling our webhooks.
        return [], []


@functools.lru_cache(maxsize=64)
def _shared_provider(
    *, account_sid: str, auth_token: str, api_base_url: str, timeout_seconds: float, from_number: str, concurrency: int
) -> TwilioProvider:
    return TwilioProvider(
        account_sid=account_sid,
        auth_token=auth_token,
        api_base_url=api_base_url,
        timeout_seconds=timeout_seconds,
        from_number=from_number,
        concurrency=concurrency,
    )


def _never_connected(exc: requests.exceptions.RequestException) -> bool:
    """True when the request cannot have reached Twilio (refused, DNS, connect timeout)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(exc, requests.exceptions.ConnectionError):
        reason = exc.args[0] if exc.args else None
        inner = getattr(reason, "reason", reason)
        return isinstance(inner, NewConnectionError | NameResolutionError)
    return False
