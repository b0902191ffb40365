"""Provider error codes that matter to bulk texting: what each means and what Spoke does about it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class ErrorAction(Enum):
    NONE = "none"
    OPT_OUT = "opt_out"  # the person replied STOP to the carrier: opt them out everywhere
    CLOSE_CONTACT = "close_contact"  # the number can never receive texts: stop trying
    CARRIER_FILTERED = "carrier_filtered"  # counted for the organizer: content or volume was filtered


@dataclass(frozen=True)
class ErrorInfo:
    code: int
    description: str
    permanent: bool
    action: ErrorAction = ErrorAction.NONE

    @property
    def transient(self) -> bool:
        """Trying again later may work (rate limits, congestion, an unreachable phone)."""
        return not self.permanent

    @property
    def carrier_filtered(self) -> bool:
        """Counted for the organizer as carrier filtering: the content or volume was blocked."""
        return self.action is ErrorAction.CARRIER_FILTERED


CATALOG: dict[int, ErrorInfo] = {
    info.code: info
    for info in [
        # --- refused when sending (the Messages API answers with the error)
        ErrorInfo(20003, "Twilio refused our credentials: check the account SID and auth token", True),
        ErrorInfo(20429, "Too many requests: the provider's rate limit was hit", False),
        ErrorInfo(21211, "Invalid 'To' phone number", True, ErrorAction.CLOSE_CONTACT),
        ErrorInfo(21408, "Permission to send to this region is not enabled", True),
        ErrorInfo(21602, "The message has no text", True),
        ErrorInfo(21606, "The sending number cannot send texts from this account", True),
        ErrorInfo(21610, "The recipient replied STOP: messages to this number are blocked", True, ErrorAction.OPT_OUT),
        ErrorInfo(21611, "The sending number or service has too many queued messages", False),
        ErrorInfo(21612, "The 'To' number cannot be reached from this sending number", True),
        ErrorInfo(21614, "The 'To' number is not a mobile number (landline)", True, ErrorAction.CLOSE_CONTACT),
        ErrorInfo(21617, "The message is too long (over 1,600 characters)", True),
        ErrorInfo(21704, "The messaging service has no phone numbers to send from", True),
        # --- reported later by the carrier (status callback undelivered/failed)
        ErrorInfo(30001, "Queue overflow: too many messages sent too quickly", False),
        ErrorInfo(30002, "Account suspended", True),
        ErrorInfo(30003, "Unreachable handset (off or out of coverage)", False),
        ErrorInfo(30004, "Message blocked by the recipient or their carrier", True),
        ErrorInfo(30005, "Unknown destination handset: the number does not exist", True, ErrorAction.CLOSE_CONTACT),
        ErrorInfo(30006, "Landline or unreachable carrier", True, ErrorAction.CLOSE_CONTACT),
        ErrorInfo(30007, "Carrier filtering: message flagged as spam or violation", True, ErrorAction.CARRIER_FILTERED),
        ErrorInfo(30008, "Unknown error from the carrier", False),
        ErrorInfo(30009, "Missing segment of a multi-part message", False),
        ErrorInfo(30010, "Message price exceeds the maximum price", True),
        ErrorInfo(30017, "Carrier network congestion", False),
        ErrorInfo(30022, "US A2P 10DLC throughput limit exceeded", False),
        ErrorInfo(30023, "US A2P 10DLC daily limit reached for this brand", False),
        ErrorInfo(30032, "Toll-free number not verified for texting", True),
        ErrorInfo(30034, "Sent from a number not registered for US A2P 10DLC", True, ErrorAction.CARRIER_FILTERED),
        ErrorInfo(63017, "Message rejected by the channel's rate limits", False),
    ]
}

CARRIER_FILTERING_CODES = frozenset(
    code for code, info in CATALOG.items() if info.action is ErrorAction.CARRIER_FILTERED
)


def describe(code: int | None) -> ErrorInfo | None:
    if code is None:
        return None
    return CATALOG.get(code, ErrorInfo(code, f"Provider error {code}", True))
