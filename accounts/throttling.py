"""Login throttling: too many failed logins for one account, or from one client address, lock
further attempts for LOGIN_LOCKOUT_SECONDS after the last failure.

Counted in the cache (Redis in production, shared by every web process), not the database: a
password-guessing run costs no writes, and nothing grows. Why not django-axes: it writes a row
per failure, asks every authenticate() call for the request and adds a middleware to every
request; these two counters are all the design needs. While Redis is down the counters are not
kept (core/cache.py): logins go on without throttling rather than failing for everyone.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from core.cache import OUTAGE


def client_address(request: HttpRequest) -> str:
    """The client's address: behind NUM_PROXIES proxies, the one the outermost proxy saw."""
    proxies = settings.NUM_PROXIES
    if proxies:
        forwarded = [part.strip() for part in request.headers.get("X-Forwarded-For", "").split(",") if part.strip()]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return str(request.META.get("REMOTE_ADDR", ""))


def _account_key(email: str) -> str:
    return "login-failures:account:" + hashlib.sha256(email.strip().lower().encode()).hexdigest()


def _address_key(address: str) -> str:
    return f"login-failures:address:{address}"


def login_locked(*, email: str, address: str) -> bool:
    failures = cache.get_many([_account_key(email), _address_key(address)])
    return (
        failures.get(_account_key(email), 0) >= settings.LOGIN_FAILURES_PER_ACCOUNT
        or failures.get(_address_key(address), 0) >= settings.LOGIN_FAILURES_PER_ADDRESS
    )


def login_failure_record(*, email: str, address: str) -> None:
    for key in (_account_key(email), _address_key(address)):
        cache.add(key, 0, timeout=settings.LOGIN_LOCKOUT_SECONDS)
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=settings.LOGIN_LOCKOUT_SECONDS)
        cache.touch(key, timeout=settings.LOGIN_LOCKOUT_SECONDS)


def login_success_record(*, email: str) -> None:
    """The right password clears the account's count (not the address's: one good login from a
    shared address does not excuse the guesses made from it)."""
    try:
        cache.delete(_account_key(email))
    except OUTAGE:
        pass  # nothing was counted while Redis was away either


LOCKED_MESSAGE = (
    "Too many failed logins for this account or from this network. Wait %(minutes)s minutes, then try "
    "again; if you forgot your password, ask an organizer of your organization."
)
