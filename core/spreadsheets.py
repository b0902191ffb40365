"""CSV cells that go back to spreadsheets: a value starting like a formula must not run there."""

from __future__ import annotations

import re
from typing import Any

_NUMBER_LIKE = re.compile(r"[+-]?[\d\s().-]*\Z")


def spreadsheet_safe(value: Any) -> str:
    """The cell as text a spreadsheet shows rather than runs (a leading apostrophe before =, +, -,
    @, tab or carriage return). Phone numbers such as "+1 (202) 555-0100" are left alone."""
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _NUMBER_LIKE.match(text):
        return "'" + text
    return text
