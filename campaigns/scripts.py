"""Filling in scripts: `{firstName}`, `{lastName}`, `{texterFirstName}`, custom fields."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# Custom fields are named by the CSV's headers, which may hold any character but braces.
FIELD_PATTERN = re.compile(r"\{([^{}\n]+)\}")
TOP_LEVEL_FIELDS = ("firstName", "lastName", "cell", "zip", "external_id", "texterFirstName", "texterLastName")


def script_fields(*, contact: Any, texter_first_name: str = "", texter_last_name: str = "") -> dict[str, str]:
    values: dict[str, str] = {str(k): "" if v is None else str(v) for k, v in (contact.custom_fields or {}).items()}
    values.update(
        firstName=contact.first_name,
        lastName=contact.last_name,
        cell=contact.cell,
        zip=contact.zip,
        external_id=contact.external_id,
        texterFirstName=texter_first_name,
        texterLastName=texter_last_name,
    )
    return values


def render_script(script: str, fields: Mapping[str, str]) -> str:
    """Replace each `{name}` with its value; unknown names are left as written so mistakes show."""

    def _sub(match: re.Match[str]) -> str:
        name = match.group(1)
        return fields[name] if name in fields else match.group(0)

    return FIELD_PATTERN.sub(_sub, script)


def unknown_fields(script: str, known: set[str]) -> list[str]:
    return sorted({name for name in FIELD_PATTERN.findall(script) if name not in known})
