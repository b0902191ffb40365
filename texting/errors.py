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


CATALOG: dict[int, ErrorInfo] = {
    info.code: info
    for info in [
        ErrorInfo(20429, "Too many requests: the provider's rate limit was hit", False),
        ErrorInfo(21211, "Invalid 'To' phone number", True, ErrorAction.CLOSE_CONTACT),
        ErrorInfo(21408, "Permission to send to this region is not enabled", True),
        ErrorInfo(21610, "The recipient replied STOP: messages to this number are blocked", True, ErrorAction.OPT_OUT),
        ErrorInfo(21611, "The sending number or service has too many queued messages", False),
        ErrorInfo(21612, "The 'To' number cannot be reached from this sending number", True),
        ErrorInfo(21614, "The 'To' number is not a mobile number (landline)", True, ErrorAction.CLOSE_CONTACT),
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
        ErrorInfo(63017, "Message rejected by the channel's rate limits", False),
    ]
}


def describe(code: int | None) -> ErrorInfo | None:
    if code is None:
        return None
    return CATALOG.get(code, ErrorInfo(code, f"Provider error {code}", True))
