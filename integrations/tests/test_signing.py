from __future__ import annotations

from integrations.signing import signature_header, signature_verify


def test_a_signature_verifies_with_the_secret_only() -> None:
    header = signature_header(secret="s3cret", body=b'{"a":1}', timestamp=1_700_000_000)
    assert header.startswith("t=1700000000,v1=")
    assert signature_verify(secret="s3cret", body=b'{"a":1}', header=header, now=1_700_000_010)
    assert not signature_verify(secret="other", body=b'{"a":1}', header=header, now=1_700_000_010)


def test_a_tampered_body_or_an_old_timestamp_fails() -> None:
    header = signature_header(secret="s3cret", body=b'{"a":1}', timestamp=1_700_000_000)
    assert not signature_verify(secret="s3cret", body=b'{"a":2}', header=header, now=1_700_000_010)
    assert not signature_verify(secret="s3cret", body=b'{"a":1}', header=header, now=1_700_000_000 + 301)


def test_a_malformed_header_fails() -> None:
    assert not signature_verify(secret="s", body=b"", header="")
    assert not signature_verify(secret="s", body=b"", header="t=abc,v1=00")
