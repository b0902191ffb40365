from __future__ import annotations

import signal
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from texting.simulator import SimulatorConfig, TwilioSimulator, parse_failure


class Command(BaseCommand):
    help = (
        "Run a local Twilio for development, tests and benchmarks: it answers the Messages API the "
        "twilio SDK calls (checking the account SID and auth token), then posts signed status callbacks "
        "(sent, then delivered, undelivered or failed) and, if asked, contacts' replies. Point Spoke at it "
        "with SMS_BACKEND=twilio TWILIO_API_BASE_URL=http://127.0.0.1:<port> and the same "
        "TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN. GET /stats shows what it received. Loopback only."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--port", type=int, default=8099, help="Port to listen on (0: any free port). Default 8099."
        )
        parser.add_argument("--host", default="127.0.0.1", help="Loopback address to listen on. Default 127.0.0.1.")
        parser.add_argument(
            "--account-sid", default="", help="Account SID to accept (default: TWILIO_ACCOUNT_SID, else ACsimulator…)."
        )
        parser.add_argument(
            "--auth-token",
            default="",
            help="Auth token to accept and to sign callbacks with (default: TWILIO_AUTH_TOKEN).",
        )
        parser.add_argument("--latency-ms", type=int, default=0, help="Wait this long before answering each send.")
        parser.add_argument(
            "--rate-limit", type=float, default=0, help="Sends per second accepted; more are answered 429 (code 20429)."
        )
        parser.add_argument(
            "--fail",
            action="append",
            default=[],
            metavar="CODE:SHARE",
            help="Fail this share of messages with this Twilio error code, e.g. --fail 30007:0.02 --fail 21614:0.01. "
            "21xxx codes are refused at once (HTTP 400), 20429 answers 429, 3xxxx codes are reported by callback.",
        )
        parser.add_argument(
            "--reply-rate", type=float, default=0.0, help="Share of delivered messages the contact answers."
        )
        parser.add_argument("--stop-share", type=float, default=0.0, help="Share of those replies that are STOP.")
        parser.add_argument(
            "--inbound-url",
            default="",
            help="Where replies are posted (default: PUBLIC_BASE_URL/webhooks/twilio/inbound).",
        )
        parser.add_argument("--callback-delay-ms", type=int, default=0, help="Wait before each status callback.")
        parser.add_argument("--from-number", default="+15005550006", help="Sending number replies are addressed to.")
        parser.add_argument("--seed", type=int, default=None, help="Random seed, for repeatable failures and replies.")
        parser.add_argument("--stats-file", default="", help="Also write the counts (as GET /stats) to this JSON file.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            config = SimulatorConfig(
                account_sid=options["account_sid"] or settings.TWILIO_ACCOUNT_SID or "AC" + "0" * 32,
                auth_token=options["auth_token"] or settings.TWILIO_AUTH_TOKEN or "simulator-auth-token",
                host=options["host"],
                port=options["port"],
                latency_ms=options["latency_ms"],
                rate_limit=options["rate_limit"],
                failures=[parse_failure(value) for value in options["fail"]],
                reply_rate=options["reply_rate"],
                stop_share=options["stop_share"],
                inbound_url=options["inbound_url"] or f"{settings.PUBLIC_BASE_URL}/webhooks/twilio/inbound",
                callback_delay_ms=options["callback_delay_ms"],
                from_number=options["from_number"],
                seed=options["seed"],
                stats_file=options["stats_file"],
            )
            simulator = TwilioSimulator(config)
        except (ValueError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        # Stopped by a signal (a test or a process manager), it still writes its final counts.
        signal.signal(signal.SIGTERM, _interrupt)
        self.stdout.write(f"Twilio simulator listening on {simulator.url} (account {config.account_sid})")
        self.stdout.flush()
        try:
            simulator.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            simulator.stop()


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt
