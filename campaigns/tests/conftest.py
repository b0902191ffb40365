"""Fixtures shared by the campaigns app's tests."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest

from campaigns import services


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, dict[str, Any]]]:
    """The live updates the services publish (group, event, payload)."""
    events: list[tuple[str, str, dict[str, Any]]] = []

    def record(group: str, event: str, **payload: Any) -> None:
        events.append((group, event, payload))

    def record_many(groups: Iterable[str], event: str, **payload: Any) -> None:
        for group in groups:
            record(group, event, **payload)

    monkeypatch.setattr(services, "publish_on_commit", record)
    monkeypatch.setattr(services, "publish_to_groups_on_commit", record_many)
    return events
