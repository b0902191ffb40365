"""The `Spoke-Signature` header: HMAC-SHA256 over "<timestamp>.<body>" with the endpoint's secret.

`Spoke-Signature: t=1700000000,v1=5257a869...` — the receiver recomputes the HMAC over the
timestamp, a dot and the raw request body, compares in constant time, and refuses a timestamp
older than a few minutes (a replayed request).
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "Spoke-Signature"
DEFAULT_TOLERANCE_SECONDS = 300


def signature_header(*, secret: str, body: bytes, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def signature_verify(
    *, secret: str, body: bytes, header: str, tolerance: int = DEFAULT_TOLERANCE_SECONDS, now: int | None = None
) -> bool:
    """Whether `header` signs `body` with `secret` and is no older than `tolerance` seconds."""
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        parts.setdefault(key, []).append(value)
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, ValueError):
        return False
    now = int(time.time()) if now is None else now
    if abs(now - timestamp) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, candidate) for candidate in parts.get("v1", []))
