"""Every environment variable Spoke reads is documented: in docs/deploying.md (meaning and default)
and in .env.example. Read from the source, so a new `env_*("NAME", …)` in settings.py or a new
`${NAME…}` in the Procfile fails here until it is written down."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def variables_read() -> set[str]:
    settings = (ROOT / "spoke" / "settings.py").read_text()
    procfile = (ROOT / "Procfile").read_text()
    names = set(re.findall(r"\benv_(?:str|bool|int|list)\(\s*\"([A-Z][A-Z0-9_]*)\"", settings))
    names |= set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", procfile))
    return names


def test_the_source_is_read() -> None:
    names = variables_read()
    assert {"DATABASE_URL", "REDIS_URL", "METRICS_TOKEN", "WEB_CONCURRENCY", "PORT"} <= names
    assert len(names) > 50


def test_every_variable_is_in_the_deployment_guide() -> None:
    guide = (ROOT / "docs" / "deploying.md").read_text()
    missing = sorted(name for name in variables_read() if f"`{name}`" not in guide)
    assert not missing, f"Document these in docs/deploying.md (meaning and default): {missing}"


def test_every_variable_is_in_env_example() -> None:
    listed = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    missing = sorted(variables_read() - listed)
    assert not missing, f"Add these to .env.example with their default: {missing}"
