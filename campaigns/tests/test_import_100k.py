"""The 100,000-row upload, end to end through the job, with progress events and a failed upload
that leaves the previous contacts intact.

It runs on every database: on PostgreSQL (CI always sets DATABASE_URL) the contacts go in with
COPY, which `test_100k_rows_use_copy_on_postgresql` checks; on SQLite the same test asserts the
plain insert path instead, so neither run skips anything.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from accounts.models import Organization
from campaigns import importing
from campaigns.importing import contacts_import_file
from campaigns.models import Campaign, JobStatus
from spoke.testing import CampaignFactory

pytestmark = pytest.mark.django_db

ROWS = 100_000


@pytest.fixture
def new_campaign(organization: Organization) -> Campaign:
    return CampaignFactory.create(organization=organization, is_started=False, started_at=None)


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("import") / "contacts-100k.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("\ufefffirstName,lastName,cell,zip,ward\r\n")
        for n in range(ROWS):
            out.write(f'P{n},"L, {n}",202{2_000_000 + n},20001,{n % 9}\r\n')
    return path


def test_100k_rows_use_copy_on_postgresql(
    new_campaign: Campaign, big_file: Path, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    used: list[str] = []
    copy, insert = importing._copy_contacts, importing._insert_contacts
    monkeypatch.setattr(importing, "_copy_contacts", lambda **kw: (used.append("copy"), copy(**kw))[1])
    events: list[dict[str, Any]] = []
    monkeypatch.setattr(
        importing, "publish_on_commit", lambda group, event, **payload: events.append({"event": event, **payload})
    )
    started = time.monotonic()
    job = contacts_import_file(campaign=new_campaign, path=big_file)
    elapsed = time.monotonic() - started

    assert (job.status, job.imported, job.rows_total, job.progress) == (JobStatus.DONE, ROWS, ROWS, 100)
    assert new_campaign.contacts.count() == ROWS
    assert new_campaign.contacts.get(cell="+12022099999").custom_fields == {"ward": str(99_999 % 9)}
    progress = [e["progress"] for e in events if e["event"] == "import_progress"]
    assert len(progress) >= 10 and progress == sorted(progress) and progress[-1] == 100
    assert events[-1]["status"] == JobStatus.DONE
    if connection.vendor == "postgresql":
        assert used and set(used) == {"copy"}
        assert elapsed < 60, f"100,000 rows took {elapsed:.0f} s on PostgreSQL"
    else:
        assert not used
    assert insert is importing._insert_contacts


def test_a_failed_upload_after_100k_rows_keeps_the_previous_contacts(
    new_campaign: Campaign, big_file: Path, tmp_path: Path
) -> None:
    contacts_import_file(campaign=new_campaign, path=big_file)
    broken = tmp_path / "broken.csv"
    broken.write_text("firstName,lastName,cell\nAda,Lovelace,not a phone\n", encoding="utf-8")
    job = contacts_import_file(campaign=new_campaign, path=broken)
    assert job.status == JobStatus.FAILED
    assert "previous contacts are kept" in job.error
    assert new_campaign.contacts.count() == ROWS
