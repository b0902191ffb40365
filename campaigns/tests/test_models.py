from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from accounts.models import Organization
from campaigns.models import Campaign


def test_organization_hours_must_end_after_they_start() -> None:
    with pytest.raises(ValidationError, match="end after they start"):
        Organization(name="x", texting_hours_start=21, texting_hours_end=9).clean()
    Organization(name="x", texting_hours_start=21, texting_hours_end=9, texting_hours_enforced=False).clean()


def test_campaign_override_hours_must_end_after_they_start() -> None:
    with pytest.raises(ValidationError, match="end after they start"):
        Campaign(override_org_texting_hours=True, texting_hours_start=10, texting_hours_end=10).clean()
    Campaign(override_org_texting_hours=False, texting_hours_start=10, texting_hours_end=10).clean()


def test_campaign_timezone_must_be_a_real_zone() -> None:
    with pytest.raises(ValidationError, match="timezone name"):
        Campaign(timezone="Mars/Olympus").clean()
