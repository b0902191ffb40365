"""Spoke settings, read from the environment.

Every variable is listed in `.env.example`. Without DATABASE_URL Spoke uses SQLite; without
REDIS_URL jobs run synchronously in process and the channel layer is in-memory, so `make run`
needs nothing but Python.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

T = TypeVar("T", int, float)

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def env_int(name: str, default: int) -> int:
    return _env_number(name, default, int, "a whole number")


def env_float(name: str, default: float) -> float:
    return _env_number(name, default, float, "a number")


def _env_number(name: str, default: T, kind: Callable[[str], T], what: str) -> T:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return kind(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be {what}, not {value!r}") from exc


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


# --- Core -------------------------------------------------------------------------------------

PRODUCTION = env_bool("SPOKE_PRODUCTION", False)
DEBUG = env_bool("DEBUG", not PRODUCTION)
SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if PRODUCTION:
    if not SECRET_KEY:
        raise ImproperlyConfigured("SPOKE_PRODUCTION is on: set DJANGO_SECRET_KEY to a long random value.")
    if DEBUG:
        raise ImproperlyConfigured("SPOKE_PRODUCTION is on: DEBUG must be off (unset DEBUG or set DEBUG=false).")
if not SECRET_KEY:
    SECRET_KEY = "spoke-development-only-secret-key-do-not-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "" if PRODUCTION else "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_rq",
    "channels",
    "accounts",
    "campaigns",
    "texting",
    "integrations",
    "ops",
    # manage.py bench (the benchmark suite; no models, no URLs)
    "benchmarks",
]

MIDDLEWARE = [
    # Request id, access log, latency histogram and the maintenance gate (ops/middleware.py): first,
    # so every log line of the request carries its id and the latency covers the whole stack.
    "ops.middleware.OpsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "spoke.urls"
WSGI_APPLICATION = "spoke.wsgi.application"
ASGI_APPLICATION = "spoke.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "ops.context_processors.maintenance",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------------

DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL,
            conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 600),
            # A health check is a `SELECT 1` before every request's first query: one statement in five
            # on the send path. Off, a connection PostgreSQL dropped fails one request, then Django
            # closes it and the next request reconnects. DATABASE_CONN_HEALTH_CHECKS=true turns it on.
            conn_health_checks=env_bool("DATABASE_CONN_HEALTH_CHECKS", False),
        )
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env_str("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
            # Sends and webhooks write from several threads under runserver; wait rather than fail.
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
            # A file, not memory, so the browser tests' live server process sees the test data.
            # One per process, so two test runs side by side never share it.
            "TEST": {"NAME": str(BASE_DIR / f".test-db-{os.getpid()}.sqlite3")},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The hot paths' statements (core.queries.execute_hot) are prepared once per PostgreSQL connection:
# the send's contact lock cost 0.6 ms of planning per call against 0.09 ms of execution. Turn it
# off behind a pooler that shares server connections between clients per transaction (PgBouncer
# in transaction mode), where a statement prepared on one server connection is missing on another.
DATABASE_PREPARED_STATEMENTS = env_bool("DATABASE_PREPARED_STATEMENTS", True)

# --- Redis: jobs, channel layer ---------------------------------------------------------------

REDIS_URL = env_str("REDIS_URL")
# Without Redis, jobs run in process right after the transaction commits (see core/jobs.py).
JOBS_SYNC = not REDIS_URL
RQ_QUEUES = {
    name: {"URL": REDIS_URL or "redis://127.0.0.1:6379/0", "DEFAULT_TIMEOUT": 600}
    for name in ("default", "sends", "imports")
}
# Workers seed the outbox sweeper's schedule as they start (texting/worker.py).
RQ = {"COMMIT_MODE": "auto", "WORKER_CLASS": "texting.worker.SpokeWorker"}

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            # Redis pub/sub: a live event is one PUBLISH, where the list-based layer spent four round
            # trips per group send (expire, members, expire, Lua); events are not kept for a socket
            # that is not listening, and Spoke's pages re-read what they show when they reconnect.
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": env_str("CHANNELS_PREFIX", "spoke")},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# The cache holds API throttling counters and which events each organization's webhooks want:
# shared through Redis when there is one, so every process sees an endpoint change at once.
# While Redis is down, reads are misses and writes are dropped (core/cache.py), with short
# socket timeouts so a hung Redis cannot hold a request.
if REDIS_URL:
    CACHES = {
        "default": {
            # Django's RedisCache with one connection pool per process, and a Redis outage read as
            # misses instead of failed requests (core/cache.py).
            "BACKEND": "core.cache.TolerantRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "spoke"),
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 2},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Auth -------------------------------------------------------------------------------------

AUTH_USER_MODEL = "accounts.User"
# ModelBackend, loading the session's user with SQL built once per process (accounts/backends.py).
AUTHENTICATION_BACKENDS = ["accounts.backends.Backend"]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 60 * 60 * 24 * 14)
# Sessions are read from the cache (Redis when there is one) and from the database only on a miss;
# writes go to both, so losing the cache logs nobody out. A texter's send then costs no session query.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# --- I18N, static, media ----------------------------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Development and tests serve static files straight from the source folders; production serves
# the hashed, compressed copies that `collectstatic` writes to STATIC_ROOT.
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = not PRODUCTION
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))

STORAGE = env_str("STORAGE", "local")
STORAGES: dict[str, dict[str, object]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
if STORAGE == "s3":
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env_str("AWS_STORAGE_BUCKET_NAME"),
            "region_name": env_str("AWS_S3_REGION_NAME") or None,
            "endpoint_url": env_str("AWS_S3_ENDPOINT_URL") or None,
            "default_acl": "private",
            "querystring_auth": True,
        },
    }
elif STORAGE != "local":
    raise ImproperlyConfigured(f"STORAGE must be 'local' or 's3', not {STORAGE!r}")

# Contact uploads are parsed as a stream from disk; this caps what a browser may send.
CONTACT_UPLOAD_MAX_BYTES = env_int("CONTACT_UPLOAD_MAX_BYTES", 200 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- SMS --------------------------------------------------------------------------------------

SMS_BACKEND = env_str("SMS_BACKEND", "fake")
if SMS_BACKEND not in {"fake", "twilio"}:
    raise ImproperlyConfigured(f"SMS_BACKEND must be 'fake' or 'twilio', not {SMS_BACKEND!r}")
TWILIO_ACCOUNT_SID = env_str("TWILIO_ACCOUNT_SID")
TWILIO_AUTH_TOKEN = env_str("TWILIO_AUTH_TOKEN")
TWILIO_MESSAGING_SERVICE_SID = env_str("TWILIO_MESSAGING_SERVICE_SID")
TWILIO_API_BASE_URL = env_str("TWILIO_API_BASE_URL")
TWILIO_TIMEOUT_SECONDS = env_int("TWILIO_TIMEOUT_SECONDS", 10)
TWILIO_FROM_NUMBER = env_str("TWILIO_FROM_NUMBER")
# Messages the drain job claims per statement.
SEND_BATCH_SIZE = env_int("SEND_BATCH_SIZE", 100)
# Sends in flight at once per drain job (threads sharing keep-alive connections).
SEND_CONCURRENCY = env_int("SEND_CONCURRENCY", 8)
# A drain job that finds the outbox empty keeps looking this long (a claim every 50 ms) before it
# ends: while texters send, one job drains for seconds instead of one RQ job per handful of messages.
SEND_DRAIN_LINGER_SECONDS = env_float("SEND_DRAIN_LINGER_SECONDS", 0.5)
# Messages per second per messaging service unless the organization sets its own (0: no limit).
SEND_RATE_PER_SECOND = env_int("SEND_RATE_PER_SECOND", 100)
# Transient failures (429, 5xx, connection refused) are tried this many times in all, waiting
# base * 2^(n-1) seconds between tries, never more than the cap.
SEND_MAX_ATTEMPTS = env_int("SEND_MAX_ATTEMPTS", 5)
SEND_RETRY_BASE_SECONDS = env_int("SEND_RETRY_BASE_SECONDS", 5)
SEND_RETRY_MAX_SECONDS = env_int("SEND_RETRY_MAX_SECONDS", 300)
# The sweeper: how often it runs, when a queued message counts as forgotten (its drain is kicked
# again) and when one in `sending` counts as stuck (it goes to review).
SEND_SWEEP_INTERVAL_SECONDS = env_int("SEND_SWEEP_INTERVAL_SECONDS", 60)
SEND_SWEEP_QUEUED_AFTER_SECONDS = env_int("SEND_SWEEP_QUEUED_AFTER_SECONDS", 60)
SEND_STUCK_AFTER_SECONDS = env_int("SEND_STUCK_AFTER_SECONDS", 600)
# Whole-message replies that opt a contact out besides the carrier keywords (STOP, UNSUBSCRIBE…).
OPT_OUT_PHRASES = env_list("OPT_OUT_PHRASES", "stop texting me,remove me,remove me from this list,unsubscribe me")

# --- API --------------------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "accounts.api_base.Pagination",
    "PAGE_SIZE": 100,
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.UserRateThrottle",
        "rest_framework.throttling.AnonRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "user": env_str("API_THROTTLE_RATE", "6000/hour"),
        "anon": env_str("API_ANON_THROTTLE_RATE", "60/minute"),
    },
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "accounts.api_base.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Spoke API",
    "DESCRIPTION": (
        "Drive Spoke from scripts and other systems. Authenticate with a token "
        "(`Authorization: Token <key>`, from `manage.py api_token` or the back office). Every list "
        "is paginated (`limit`, `offset`) and cut to the organizations you organize."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # The docs pages' scripts are served from our own static files, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Imports and exports share one job status: one named enum in the schema.
    "ENUM_NAME_OVERRIDES": {"JobStatusEnum": "campaigns.models.JobStatus"},
}

# --- Outgoing webhooks (integrations) ----------------------------------------------------------

WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 10)
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 8)
WEBHOOK_RETRY_BASE_SECONDS = env_int("WEBHOOK_RETRY_BASE_SECONDS", 30)
# Delivered or given-up deliveries older than this are deleted from the log (0: keep forever).
WEBHOOK_DELIVERY_KEEP_DAYS = env_int("WEBHOOK_DELIVERY_KEEP_DAYS", 30)
# Off in production: endpoints must resolve to public addresses (no private network, no metadata IP).
WEBHOOK_ALLOW_PRIVATE_ADDRESSES = env_bool("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", not PRODUCTION)
INVITE_MAX_AGE_DAYS = env_int("INVITE_MAX_AGE_DAYS", 14)

# --- Security ---------------------------------------------------------------------------------
# What `manage.py check --deploy` asks for in production (spoke/tests/security/test_deploy.py runs
# it), a Content Security Policy with no inline script or style anywhere, login throttling and
# request-size limits. ALLOWED_HOSTS and CSRF_TRUSTED_ORIGINS come from the environment (Core).

SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # The ASGI server's own errors never print settings; Django's debug page is off (DEBUG refused).

# Content Security Policy (django-csp), in every environment so development meets the same
# policy as production: scripts and styles only from our own static files. Templates carry no
# inline <script>, <style> or style="" (static/spoke/styles.js applies data-style-* attributes).
from csp.constants import NONE, SELF  # noqa: E402

INSTALLED_APPS.append("csp")
MIDDLEWARE.insert(MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1, "core.csp.CSPMiddleware")


def _django_admin_inline_style_hash() -> str:
    """Django admin's change list has one fixed inline <style> (lists without actions): allow it
    by its hash rather than allowing inline styles."""
    import base64
    import hashlib
    import re

    import django.contrib.admin

    template = Path(django.contrib.admin.__file__).parent / "templates" / "admin" / "change_list.html"
    found = re.search(r"<style>(.*?)</style>", template.read_text(), flags=re.DOTALL)
    if not found:
        return ""
    digest = base64.b64encode(hashlib.sha256(found.group(1).encode()).digest()).decode()
    return f"'sha256-{digest}'"


CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, _django_admin_inline_style_hash()],
        # Campaign logos may live in S3; favicons are data: URLs.
        "img-src": [SELF, "data:", "https:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# Login throttling (accounts/throttling.py): failed logins per account and per client address in
# a sliding window, counted in the cache (Redis in production, shared by every web process).
LOGIN_FAILURES_PER_ACCOUNT = env_int("LOGIN_FAILURES_PER_ACCOUNT", 5)
LOGIN_FAILURES_PER_ADDRESS = env_int("LOGIN_FAILURES_PER_ADDRESS", 20)
LOGIN_LOCKOUT_SECONDS = env_int("LOGIN_LOCKOUT_SECONDS", 15 * 60)
# Proxies in front of Spoke that append to X-Forwarded-For (0: clients connect directly). Login
# throttling and the API's per-address throttle take the client's address from there.
NUM_PROXIES = env_int("NUM_PROXIES", 0)
REST_FRAMEWORK["NUM_PROXIES"] = NUM_PROXIES or None
# Other uploaded files (opt-out lists, canned responses) are refused above this, with a message.
UPLOAD_MAX_BYTES = env_int("UPLOAD_MAX_BYTES", 20 * 1024 * 1024)
# Provider webhooks are a few kilobytes; anything bigger is refused with 413 before it is read.
WEBHOOK_MAX_BYTES = env_int("WEBHOOK_MAX_BYTES", 64 * 1024)

# --- Logging: secrets and message bodies never reach the logs -----------------------------------

LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
# "plain" for people reading a terminal, "json" (one object per line) for a log platform.
LOG_FORMAT = env_str("LOG_FORMAT", "plain")
if LOG_FORMAT not in {"plain", "json"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be 'plain' or 'json', not {LOG_FORMAT!r}")
# One line per HTTP request (method, path, status, duration, request id) from ops/middleware.py;
# run uvicorn with --no-access-log so its own unredacted access line is not written as well.
ACCESS_LOG = env_bool("ACCESS_LOG", True)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        # Every record gets the request (or RQ job) id, and known secrets are masked in it.
        "request_id": {"()": "ops.logs.RequestIdFilter"},
        "redact": {"()": "ops.logs.RedactingFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "ops.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id", "redact"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # The twilio SDK logs request URLs (with the account SID) at INFO.
        "twilio": {"level": "WARNING"},
        # uvicorn's own loggers go through the same handler (format, redaction).
        "uvicorn": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        "uvicorn.access": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}

# --- Operations: health, metrics, maintenance (ops/) ---------------------------------------------

# /metrics answers only with `Authorization: Bearer <METRICS_TOKEN>`; unset, it answers 404.
METRICS_TOKEN = env_str("METRICS_TOKEN")
# /readyz fails when the oldest due message has waited longer than this in the outbox (0: never).
READYZ_MAX_QUEUE_LAG_SECONDS = env_int("READYZ_MAX_QUEUE_LAG_SECONDS", 300)
# /readyz fails without at least this many live RQ workers (only with REDIS_URL; 0: not checked).
READYZ_MIN_WORKERS = env_int("READYZ_MIN_WORKERS", 1)
# Seconds each readiness check may take before it counts as failed.
READYZ_TIMEOUT_SECONDS = env_int("READYZ_TIMEOUT_SECONDS", 2)
# Forces maintenance mode on, whatever `manage.py maintenance` or the system page say.
MAINTENANCE_MODE = env_bool("MAINTENANCE_MODE", False)
MAINTENANCE_MESSAGE = env_str(
    "MAINTENANCE_MESSAGE", "Spoke is down for maintenance. Your messages are safe; please try again in a few minutes."
)
# How long a process trusts its last look at the maintenance switch (keeps requests free of round trips).
MAINTENANCE_CHECK_SECONDS = env_int("MAINTENANCE_CHECK_SECONDS", 1)
