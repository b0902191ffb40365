"""The five scenarios of `manage.py bench`; each returns a report.ScenarioResult."""

from __future__ import annotations
