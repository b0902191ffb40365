from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError


def test_sends_through_the_configured_provider() -> None:
    out = io.StringIO()
    call_command("send_test_message", "--to", "(202) 555-0175", stdout=out)
    assert "Sent to +12025550175 through fake" in out.getvalue()


def test_a_provider_error_is_explained() -> None:
    with pytest.raises(CommandError, match="refused the message \\(error 20429\\)"):
        call_command("send_test_message", "--to", "+12025550175", "--body", "error20429")


def test_bad_number_or_empty_body_is_refused() -> None:
    with pytest.raises(CommandError, match="not a valid phone number"):
        call_command("send_test_message", "--to", "12")
    with pytest.raises(CommandError, match="empty"):
        call_command("send_test_message", "--to", "+12025550175", "--body", "  ")
