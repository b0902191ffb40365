"""The outbox: claiming queued messages, handing them to the provider, writing results back.

At most once: a message reaches the provider only through the worker that claimed it, and a
failure that may have been accepted by the provider (ambiguous) is never retried automatically.

Per batch: one claim statement, one re-check statement (opt-outs, archived campaigns, the
organization's rate and credentials), the sends (concurrent, over keep-alive connections, within
the messaging service's rate limit), and one statement writing every result back.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, F, Field, Q, Value, When
from django.utils import timezone

from core import ratelimit
from core.live import publish_stats_changed
from core.queries import execute_hot, raw_datetime
from ops.maintenance import maintenance_active
from ops.metrics import counters_add, per_minute_add
from texting.errors import ErrorAction, describe
from texting.events import messages_failed_event_emit
from texting.hot_sql import sender_rows
from texting.models import Message, MessageStatus
from texting.providers import get_provider
from texting.providers.base import FailureKind, OutboundSMS, Provider, ProviderError, SendResult

logger = logging.getLogger(__name__)

# A drain hands over to a fresh job after this long, well inside RQ's job timeout (600 s): at a
# slow organization rate a big outbox takes hours, and a job killed mid-batch strands messages.
DRAIN_TIME_BUDGET_SECONDS = 240
# How often a drain that found the outbox empty looks again (settings.SEND_DRAIN_LINGER_SECONDS).
DRAIN_POLL_SECONDS = 0.05
# At a slow rate a batch is cut to about this many seconds of sending, so few messages wait in
# `sending` (where a dying worker would leave them for review).
BATCH_SECONDS = 10

REVIEW_NOTE = "The provider may have sent it; check before resending."
STUCK_NOTE = "Left in 'sending' (a worker stopped mid-send?); it may have been sent: check before resending."


@dataclass(frozen=True)
class Claimed:
    id: int
    to_number: str
    body: str
    messaging_service_sid: str
    from_number: str
    send_before: dt.datetime | None
    contact_id: int | None
    attempts: int
    is_opt_out_notice: bool
    organization_id: int | None = None
    campaign_id: int | None = None
    media_urls: list[str] = field(default_factory=list)


CLAIM_COLUMNS = (
    "id, to_number, body, messaging_service_sid, from_number, send_before, contact_id, attempts, "
    "is_opt_out_notice, organization_id, campaign_id"
)


def outbox_claim(*, messaging_service_sid: str, limit: int, now: dt.datetime | None = None) -> list[Claimed]:
    """Move up to `limit` due queued messages to `sending` and return them: one statement.

    Due: never tried, or its retry backoff has passed. On PostgreSQL `FOR UPDATE SKIP LOCKED`
    lets several workers claim at once without waiting on or double-claiming each other's rows.
    """
    now = now or timezone.now()
    table = connection.ops.quote_name(Message._meta.db_table)
    # The status is written into the statement, not passed: a prepared statement's generic plan can
    # use the partial index `message_outbox` (WHERE status = 'queued') only for a literal.
    queued = str(MessageStatus.QUEUED)
    assert queued.isalpha()
    due = f"status = '{queued}' AND messaging_service_sid = %s AND (next_attempt_at IS NULL OR next_attempt_at <= %s)"
    if connection.vendor == "postgresql":
        # A materialized CTE runs the locking SELECT exactly once. Inside `WHERE id IN (SELECT …
        # LIMIT n FOR UPDATE SKIP LOCKED)` the planner may rescan the subquery, and each rescan skips
        # the rows it just locked and takes others: more than `limit` rows were claimed (seen with
        # the same pattern in "request more").
        returning = ", ".join(f"{table}.{column.strip()}" for column in CLAIM_COLUMNS.split(","))
        sql = (
            f"WITH claimed AS MATERIALIZED ("  # noqa: S608 (quoted table name)
            f"  SELECT id FROM {table} WHERE {due} ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED"
            f") UPDATE {table} SET status = %s, attempts = attempts + 1, claimed_at = %s"
            f" FROM claimed WHERE {table}.id = claimed.id RETURNING {returning}"
        )
    else:
        # SQLite has no row locks; its write transaction (IMMEDIATE) serialises claimers.
        sql = (
            f"UPDATE {table} SET status = %s, attempts = attempts + 1, claimed_at = %s WHERE id IN ("  # noqa: S608 (quoted table name)
            f"  SELECT id FROM {table} WHERE {due} ORDER BY id LIMIT %s"
            f") RETURNING {CLAIM_COLUMNS}"
        )
    stamp = Message._meta.get_field("claimed_at").get_db_prep_value(now, connection)
    with transaction.atomic(), connection.cursor() as cursor:
        claim = [MessageStatus.SENDING, stamp]
        pick = [messaging_service_sid, stamp, limit]
        # Prepared on PostgreSQL: a worker claims every 50 ms while it waits for sends (and planning
        # the locking CTE cost more than running it).
        execute_hot(cursor, sql, pick + claim if connection.vendor == "postgresql" else claim + pick)
        rows = cursor.fetchall()
    return sorted((_claimed(row) for row in rows), key=lambda c: c.id)


def _claimed(row: tuple[Any, ...]) -> Claimed:
    return Claimed(
        id=int(row[0]),
        to_number=str(row[1]),
        body=str(row[2]),
        messaging_service_sid=str(row[3]),
        from_number=str(row[4]),
        send_before=raw_datetime(row[5]),
        contact_id=row[6],
        attempts=int(row[7]),
        is_opt_out_notice=bool(row[8]),
        organization_id=row[9],
        campaign_id=row[10],
    )


@dataclass(frozen=True)
class SenderState:
    """What the worker re-reads at send time about a message's contact and organization."""

    reasons: dict[int, str]
    rate_per_second: float
    credentials: dict[int, tuple[str, str]]  # message id -> (account sid, auth token), when the org has its own


def _sender_state(batch: list[Claimed], now: dt.datetime) -> SenderState:
    """Re-check at send time what may have changed since the message was queued: one statement."""
    state = sender_rows([c.contact_id for c in batch if c.contact_id is not None])
    reasons: dict[int, str] = {}
    credentials: dict[int, tuple[str, str]] = {}
    rates: set[int] = set()
    for claimed in batch:
        contact = state.get(claimed.contact_id) if claimed.contact_id is not None else None
        if contact is not None:
            if contact.send_rate_per_second:
                rates.add(contact.send_rate_per_second)
            sid, token = contact.twilio_account_sid, contact.twilio_auth_token
            if sid and token:
                credentials[claimed.id] = (sid, token)
        if contact is not None and contact.is_opted_out and not claimed.is_opt_out_notice:
            reasons[claimed.id] = "The contact opted out after this message was queued."
        elif contact is not None and contact.campaign_is_archived:
            reasons[claimed.id] = "The campaign was archived before this message was sent."
        elif claimed.send_before is not None and claimed.send_before <= now:
            reasons[claimed.id] = "Texting hours ended before this message could be sent."
    # Organizations sharing a messaging service share its limit: the strictest applies.
    rate = float(min(rates)) if rates else float(settings.SEND_RATE_PER_SECOND)
    return SenderState(reasons=reasons, rate_per_second=rate, credentials=credentials)


class Providers:
    """One provider per set of credentials for the whole drain, so keep-alive connections are reused."""

    def __init__(self, default: Provider | None = None) -> None:
        self._default = default
        self._by_account: dict[str, Provider] = {}

    def get(self, credentials: tuple[str, str] | None) -> Provider:
        if credentials is None:
            if self._default is None:
                self._default = get_provider()
            return self._default
        account_sid, auth_token = credentials
        if account_sid not in self._by_account:
            self._by_account[account_sid] = get_provider(account_sid=account_sid, auth_token=auth_token)
        return self._by_account[account_sid]


def retry_delay(attempts: int) -> dt.timedelta:
    """Exponential backoff after the `attempts`-th failed try, capped."""
    seconds = settings.SEND_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0)
    return dt.timedelta(seconds=min(seconds, settings.SEND_RETRY_MAX_SECONDS))


@dataclass
class BatchOutcome:
    accepted: list[tuple[OutboundSMS, str]] = field(default_factory=list)
    sent_by: dict[str, Provider] = field(default_factory=dict)  # provider SID -> the provider that sent it
    retry_at: dt.datetime | None = None  # the earliest retry this batch scheduled
    error_actions: list[tuple[int, int]] = field(default_factory=list)  # (message id, error code)
    failed: list[int] = field(default_factory=list)  # ids of messages the provider refused for good
    rate_per_second: float = 0.0  # the pace this batch was sent at (0: unlimited)


def outbox_send_batch(
    *,
    batch: list[Claimed],
    provider: Provider | Providers,
    pool: ThreadPoolExecutor | None = None,
    now: dt.datetime | None = None,
) -> BatchOutcome:
    """Send a claimed batch and write every result back in one statement."""
    now = now or timezone.now()
    providers = provider if isinstance(provider, Providers) else Providers(provider)
    state = _sender_state(batch, now)
    status_callback = f"{settings.PUBLIC_BASE_URL}/webhooks/twilio/status"
    updates: dict[int, Message] = {}
    to_send: list[tuple[Claimed, OutboundSMS, Provider]] = []
    for claimed in batch:
        result = Message(pk=claimed.id, attempts=claimed.attempts, next_attempt_at=None)
        updates[claimed.id] = result
        if claimed.id in state.reasons:
            result.status, result.status_note = MessageStatus.CANCELLED, state.reasons[claimed.id]
            continue
        outbound = OutboundSMS(
            to=claimed.to_number,
            body=claimed.body,
            messaging_service_sid=claimed.messaging_service_sid,
            from_number=claimed.from_number,
            status_callback=f"{status_callback}?m={claimed.id}",
            send_before=claimed.send_before,
        )
        to_send.append((claimed, outbound, providers.get(state.credentials.get(claimed.id))))

    bucket_key = f"send:{batch[0].messaging_service_sid or batch[0].from_number or 'default'}" if batch else ""

    # The batch's tokens in one round trip; each send then waits out its own slot.
    paced_from = time.monotonic()
    slots = ratelimit.schedule(bucket_key, len(to_send), rate=state.rate_per_second)
    slot_of = {claimed.id: slot for (claimed, _, _), slot in zip(to_send, slots, strict=True)}

    def send_one(item: tuple[Claimed, OutboundSMS, Provider]) -> SendResult | ProviderError:
        _claimed, outbound, chosen = item
        wait = paced_from + slot_of[_claimed.id] - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        try:
            return chosen.send(outbound)
        except ProviderError as exc:
            return exc
        except Exception as exc:
            # A bug or an unexpected library error after the request may have left: never resend blindly.
            logger.exception("unexpected error sending message %s", _claimed.id)
            return ProviderError(f"Unexpected error: {type(exc).__name__}", kind=FailureKind.AMBIGUOUS)

    if pool is not None and len(to_send) > 1:
        results = list(pool.map(send_one, to_send))
    else:
        results = [send_one(item) for item in to_send]

    outcome = BatchOutcome(rate_per_second=state.rate_per_second)
    for (claimed, outbound, chosen), sent in zip(to_send, results, strict=True):
        result = updates[claimed.id]
        if isinstance(sent, SendResult):
            result.status, result.provider_sid, result.sent_at = MessageStatus.SENT, sent.sid, now
            outcome.accepted.append((outbound, sent.sid))
            outcome.sent_by[sent.sid] = chosen
            continue
        result.error_code = sent.code
        if sent.kind is FailureKind.AMBIGUOUS:
            result.status, result.status_note = MessageStatus.REVIEW, REVIEW_NOTE
        elif sent.kind is FailureKind.TRANSIENT and claimed.attempts < settings.SEND_MAX_ATTEMPTS:
            retry_at = now + retry_delay(claimed.attempts)
            result.status, result.next_attempt_at = MessageStatus.QUEUED, retry_at
            result.status_note = f"Retrying (try {claimed.attempts} of {settings.SEND_MAX_ATTEMPTS} failed: {sent})"[
                :200
            ]
            outcome.retry_at = min(outcome.retry_at or retry_at, retry_at)
        else:
            info = describe(sent.code)
            result.status = MessageStatus.FAILED
            result.status_note = (info.description if info else str(sent))[:200]
            outcome.failed.append(claimed.id)
            if info is not None and info.action is not ErrorAction.NONE:
                outcome.error_actions.append((claimed.id, info.code))
    _write_results(list(updates.values()))
    _count_outcomes(list(updates.values()))
    # The claim returned each message's campaign: one coalesced dashboard event per campaign, no query.
    for campaign_id in sorted({c.campaign_id for c in batch if c.campaign_id is not None}):
        publish_stats_changed(campaign_id=campaign_id)
    return outcome


def _count_outcomes(results: list[Message]) -> None:
    """The batch's results in the shared counters (/metrics, the system page): one round trip."""
    amounts: dict[tuple[tuple[str, str], ...], int] = {}
    for result in results:
        outcome = {MessageStatus.QUEUED: "retried"}.get(MessageStatus(result.status), str(result.status))
        key = (("code", str(result.error_code or "")), ("outcome", outcome))
        amounts[key] = amounts.get(key, 0) + 1
    counters_add("messages", amounts)
    counters_add("drain_batches")
    per_minute_add("sent", sum(1 for r in results if r.status == MessageStatus.SENT))


def _write_results(results: list[Message]) -> None:
    """Every result of a batch in one UPDATE.

    A status callback may have arrived first (it carries our id, so it can): the status is
    written only where the message is still `sending`, so the result never moves it backwards,
    and an ambiguous send that the provider did take is settled by its callback, not sent to review.
    """
    if not results:
        return
    if connection.vendor == "postgresql":
        _write_results_postgresql(results)
        return
    sending = MessageStatus.SENDING

    def case(name: str, values: list[tuple[int, object]], *, only_while_sending: bool = False) -> Case:
        condition = {"status": sending} if only_while_sending else {}
        field = Message._meta.get_field(name)
        assert isinstance(field, Field)
        return Case(
            *[When(pk=pk, **condition, then=Value(value, output_field=field)) for pk, value in values],
            default=F(name),
            output_field=field,
        )

    ids = [r.pk for r in results]
    accepted = [r for r in results if r.provider_sid]
    Message.objects.filter(pk__in=ids).update(
        # Every SET reads the row as it was before this statement, so the order here does not matter.
        status_note=case("status_note", [(r.pk, r.status_note) for r in results], only_while_sending=True),
        error_code=case("error_code", [(r.pk, r.error_code) for r in results], only_while_sending=True),
        next_attempt_at=case("next_attempt_at", [(r.pk, r.next_attempt_at) for r in results], only_while_sending=True),
        provider_sid=case("provider_sid", [(r.pk, r.provider_sid) for r in accepted]),
        sent_at=case("sent_at", [(r.pk, r.sent_at) for r in accepted]),
        status=case("status", [(r.pk, r.status) for r in results], only_while_sending=True),
    )


@functools.cache
def _results_statement(alias: str) -> str:
    """`_write_results` on PostgreSQL: the batch as arrays joined to the rows, one statement whose
    text never changes (prepared once per connection), where the ORM's CASE … WHEN per row and
    column cost the worker more CPU than sending the batch did."""
    quote = connection.ops.quote_name
    table = quote(Message._meta.db_table)
    sending = f"m.{quote('status')} = %s"
    while_sending = [
        f"{quote(name)} = CASE WHEN {sending} THEN v.{name} ELSE m.{quote(name)} END"
        for name in ("status_note", "error_code", "next_attempt_at", "status")
    ]
    when_accepted = [
        f"{quote(name)} = CASE WHEN v.provider_sid IS NOT NULL THEN v.{name} ELSE m.{quote(name)} END"
        for name in ("provider_sid", "sent_at")
    ]
    return (
        f"UPDATE {table} AS m SET {', '.join(while_sending + when_accepted)} "  # noqa: S608 (quoted names from _meta; values are params)
        "FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::integer[], %s::timestamptz[], %s::text[], "
        "%s::timestamptz[]) AS v(id, status, status_note, error_code, next_attempt_at, provider_sid, sent_at) "
        f"WHERE m.{quote('id')} = v.id"
    )


def _write_results_postgresql(results: list[Message]) -> None:
    sending = str(MessageStatus.SENDING)
    accepted = [bool(r.provider_sid) for r in results]
    params: list[Any] = [sending] * 4 + [
        [r.pk for r in results],
        [str(r.status) for r in results],
        [r.status_note for r in results],
        [r.error_code for r in results],
        [r.next_attempt_at for r in results],
        [r.provider_sid if ok else None for r, ok in zip(results, accepted, strict=True)],
        [r.sent_at if ok else None for r, ok in zip(results, accepted, strict=True)],
    ]
    with connection.cursor() as cursor:
        execute_hot(cursor, _results_statement(connection.alias), params)


def outbox_drain(*, messaging_service_sid: str, batch_size: int | None = None) -> int:
    """Send everything due for the messaging service, a batch at a time; returns how many were handled.

    Messages put back for a retry are not waited for: a drain is scheduled for when the first is due.
    """
    from texting.services import message_error_action, outbox_kick

    providers = Providers()
    limit = batch_size or settings.SEND_BATCH_SIZE
    handled = 0
    retry_at: dt.datetime | None = None
    started = time.monotonic()
    idle_since: float | None = None
    with ThreadPoolExecutor(max_workers=max(settings.SEND_CONCURRENCY, 1), thread_name_prefix="send") as pool:
        while True:
            if maintenance_active():
                # Paused: the messages stay queued; turning maintenance off kicks the drain again.
                logger.info("outbox drain paused for maintenance (%s)", messaging_service_sid or "default")
                break
            if time.monotonic() - started > DRAIN_TIME_BUDGET_SECONDS:
                outbox_kick(messaging_service_sid=messaging_service_sid)  # the next job carries on
                break
            batch = outbox_claim(messaging_service_sid=messaging_service_sid, limit=limit)
            if not batch:
                # In a worker, look again for a moment before ending the job: sends arrive every few
                # milliseconds while texters work, and each new RQ job cost more than its handful of
                # messages. In process (no Redis) the drain ran after one commit: nothing to wait for.
                idle_since = idle_since or time.monotonic()
                if settings.JOBS_SYNC or time.monotonic() - idle_since >= settings.SEND_DRAIN_LINGER_SECONDS:
                    break
                time.sleep(DRAIN_POLL_SECONDS)
                continue
            idle_since = None
            outcome = outbox_send_batch(batch=batch, provider=providers, pool=pool)
            handled += len(batch)
            if outcome.rate_per_second > 0:
                paced = max(int(outcome.rate_per_second * BATCH_SECONDS), settings.SEND_CONCURRENCY, 1)
                limit = min(batch_size or settings.SEND_BATCH_SIZE, paced)
            if outcome.retry_at is not None:
                retry_at = min(retry_at or outcome.retry_at, outcome.retry_at)
            for message_id, code in outcome.error_actions:
                message_error_action(message_id=message_id, code=code)
            messages_failed_event_emit(message_ids=outcome.failed)
            _apply_provider_reactions(outcome)
    if retry_at is not None:
        outbox_schedule_retry(messaging_service_sid=messaging_service_sid, when=retry_at)
    return handled


def outbox_schedule_retry(*, messaging_service_sid: str, when: dt.datetime) -> None:
    """A drain for `when`, once per service and second however many workers ask."""
    from core.jobs import enqueue_at
    from texting.jobs import drain_outbox

    # RQ's scheduler keeps whole seconds (it truncates): a drain for 12:00:05.7 would run at
    # 12:00:05, find nothing due yet and schedule nothing more. Round up instead.
    if when.microsecond:
        when = when.replace(microsecond=0) + dt.timedelta(seconds=1)
    enqueue_at(
        drain_outbox,
        when=when,
        queue="sends",
        job_id=f"drain-retry-{messaging_service_sid or 'default'}-{int(when.timestamp())}",
        messaging_service_sid=messaging_service_sid,
    )


def _apply_provider_reactions(outcome: BatchOutcome) -> None:
    """Feed what the provider reports back into the webhook services (only the fake provider reports here)."""
    from texting.services import message_receive, message_status_update

    for outbound, sid in outcome.accepted:
        statuses, replies = outcome.sent_by[sid].reactions(outbound, SendResult(sid=sid, status="queued"))
        for report in statuses:
            message_status_update(report=report)
        for inbound in replies:
            message_receive(inbound=inbound)


# --- The sweeper ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepResult:
    kicked: list[str]  # messaging services whose drain was re-queued
    stuck: int  # messages moved from `sending` to review


def outbox_sweep(*, now: dt.datetime | None = None, kick: Callable[[str], None] | None = None) -> SweepResult:
    """Repair what a lost job or a dead worker leaves behind. Safe to run anywhere, any time.

    - Messages due in the outbox for longer than SEND_SWEEP_QUEUED_AFTER_SECONDS (Redis lost the
      drain job, or a retry's scheduled drain): their messaging service's drain is kicked again.
    - Messages in `sending` for longer than SEND_STUCK_AFTER_SECONDS (the worker died between the
      claim and the result write): they may have reached the provider, so they go to review.
    """
    from texting.services import outbox_kick

    now = now or timezone.now()
    stuck_before = now - dt.timedelta(seconds=settings.SEND_STUCK_AFTER_SECONDS)
    stuck = Message.objects.filter(status=MessageStatus.SENDING).filter(
        Q(claimed_at__lt=stuck_before) | Q(claimed_at__isnull=True, queued_at__lt=stuck_before)
    )
    stuck_count = stuck.update(status=MessageStatus.REVIEW, status_note=STUCK_NOTE)
    if stuck_count:
        logger.warning("sweeper moved %s messages stuck in sending to review", stuck_count)
    waiting_since = now - dt.timedelta(seconds=settings.SEND_SWEEP_QUEUED_AFTER_SECONDS)
    services = sorted(
        set(
            Message.objects.filter(status=MessageStatus.QUEUED, queued_at__lt=waiting_since)
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
            .order_by()
            .values_list("messaging_service_sid", flat=True)
            .distinct()
        )
    )
    for service in services:
        if kick is not None:
            kick(service)
        else:
            outbox_kick(messaging_service_sid=service)
    if services:
        logger.info("sweeper re-kicked the drain of %s messaging services", len(services))
    return SweepResult(kicked=services, stuck=stuck_count)
