"""Fixtures for the operations tests: numbers start from zero, maintenance ends with each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ops.maintenance import _forget
from ops.metrics import metrics_reset


@pytest.fixture(autouse=True)
def fresh_numbers() -> Iterator[None]:
    metrics_reset()
    yield
    metrics_reset()


@pytest.fixture(autouse=True)
def maintenance_forgotten() -> Iterator[None]:
    """The process's memo of the switch does not leak from one test to the next."""
    _forget()
    yield
    _forget()
