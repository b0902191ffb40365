"""Phone numbers to E.164.

The common US shapes (10 digits, or 11 starting with 1, with the usual punctuation) are handled
by a fast path, because imports normalise millions of them; anything else goes through the
full `phonenumbers` parse and validation.
"""

from __future__ import annotations

import phonenumbers

_PUNCTUATION = str.maketrans("", "", " ()-.\t")


def normalize_cell(raw: str, *, region: str = "US") -> str | None:
    """Return the number in E.164 (`+12025550175`), or None when it is not a valid number."""
    text = (raw or "").strip()
    if not text:
        return None
    compact = text.translate(_PUNCTUATION)
    if compact.startswith("+1"):
        compact = compact[1:]
    if compact.isdigit():
        if len(compact) == 11 and compact[0] == "1":
            compact = compact[1:]
        # NANP: area code and exchange both start with 2-9.
        if len(compact) == 10 and compact[0] in "23456789" and compact[3] in "23456789":
            return "+1" + compact
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
