"""The embedded SMS provider: sends nothing, answers like a carrier would.

- A body containing `errorNNNNN` fails with that error code (e.g. `error21610`).
- Every other message is accepted, then reported sent and delivered.
- A body containing `autorespond` makes the contact reply (with STOP when it says `autorespond STOP`).
"""

from __future__ import annotations

import re
import uuid

from texting.providers.base import (
    FailureKind,
    InboundSMS,
    OutboundSMS,
    ProviderError,
    SendResult,
    StatusReport,
)

ERROR_PATTERN = re.compile(r"error(\d{5})")
FAKE_FROM_NUMBER = "+15005550006"
AUTOREPLY = "Thanks for the text! (An automatic reply from Spoke's fake phone company.)"


class FakeProvider:
    name = "fake"

    def send(self, message: OutboundSMS) -> SendResult:
        match = ERROR_PATTERN.search(message.body)
        if match and int(match.group(1)) in TRANSIENT_CODES:
            raise ProviderError(
                f"fake transient error {match.group(1)}", kind=FailureKind.TRANSIENT, code=int(match.group(1))
            )
        return SendResult(sid=f"SMfake{uuid.uuid4().hex[:26]}", status="queued")

    def reactions(self, message: OutboundSMS, result: SendResult) -> tuple[list[StatusReport], list[InboundSMS]]:
        match = ERROR_PATTERN.search(message.body)
        if match:
            return [StatusReport(sid=result.sid, status="failed", error_code=int(match.group(1)))], []
        statuses = [StatusReport(sid=result.sid, status="sent"), StatusReport(sid=result.sid, status="delivered")]
        replies: list[InboundSMS] = []
        if "autorespond" in message.body:
            reply = "STOP" if "autorespond STOP" in message.body else AUTOREPLY
            replies.append(
                InboundSMS(
                    sid=f"SMfakein{uuid.uuid4().hex[:24]}",
                    from_number=message.to,
                    to_number=message.from_number or FAKE_FROM_NUMBER,
                    body=reply,
                    messaging_service_sid=message.messaging_service_sid,
                )
            )
        return statuses, replies


# Codes the fake provider raises at send time rather than reporting later (rate limit, busy).
TRANSIENT_CODES = {20429}
