"""Fixtures shared by the campaigns app's tests."""

from __future__ import annotations

from typing import Any

import pytest

from campaigns import services


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, dict[str, Any]]]:
    """The live updates the services publish (group, event, payload)."""
    events: list[tuple[str, str, dict[str, Any]]] = []

    def record(group: str, event: str, **payload: Any) -> None:
        events.append((group, event, payload))

    monkeypatch.setattr(services, "publish_on_commit", record)
    return events
