from __future__ import annotations

import os
import re
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]


def _load_settings(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SECRET_KEY", "DEBUG", "SPOKE_PRODUCTION"}}
    return subprocess.run(
        [sys.executable, "-c", "import spoke.settings as s; print(s.DEBUG, s.DATABASES['default']['ENGINE'])"],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_production_refuses_to_start_without_a_secret_key() -> None:
    result = _load_settings(SPOKE_PRODUCTION="true")
    assert result.returncode != 0
    assert "set DJANGO_SECRET_KEY" in result.stderr


def test_production_refuses_to_start_with_debug_on() -> None:
    result = _load_settings(SPOKE_PRODUCTION="true", DJANGO_SECRET_KEY="x" * 50, DEBUG="true")
    assert result.returncode != 0
    assert "DEBUG must be off" in result.stderr


def test_production_starts_with_a_secret_key_and_debug_off() -> None:
    result = _load_settings(SPOKE_PRODUCTION="true", DJANGO_SECRET_KEY="x" * 50, ALLOWED_HOSTS="spoke.example.org")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("False")


def test_without_database_url_spoke_uses_sqlite() -> None:
    result = _load_settings(DATABASE_URL="")
    assert result.returncode == 0, result.stderr
    assert "sqlite3" in result.stdout


def test_a_malformed_boolean_is_refused_with_its_name() -> None:
    result = _load_settings(DEBUG="maybe")
    assert result.returncode != 0
    assert "DEBUG must be true or false" in result.stderr


def test_env_example_lists_every_variable_the_settings_read() -> None:
    read = set(re.findall(r'env_(?:str|bool|int|list)\("([A-Z0-9_]+)"', (ROOT / "spoke" / "settings.py").read_text()))
    listed = set(re.findall(r"^([A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), flags=re.MULTILINE))
    assert read, "the settings read no variables: the pattern is out of date"
    assert read - listed == set(), f"missing from .env.example: {sorted(read - listed)}"


@pytest.mark.django_db
def test_no_model_change_is_missing_a_migration() -> None:
    out = StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    except SystemExit as exit_:
        pytest.fail(f"A model changed without a migration (run makemigrations):\n{out.getvalue()}")
        raise AssertionError from exit_
