"""Size limits for uploaded files, with an error that says what to do."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile


def upload_size_check(upload: UploadedFile, *, max_bytes: int | None = None) -> UploadedFile:
    """Refuse a file over `max_bytes` (default UPLOAD_MAX_BYTES) before anything reads it."""
    limit = settings.UPLOAD_MAX_BYTES if max_bytes is None else max_bytes
    if upload.size is not None and upload.size > limit:
        raise ValidationError(
            f"“{upload.name}” is {_megabytes(upload.size)}; files here may be at most {_megabytes(limit)}. "
            "Split it into smaller files and upload each.",
            code="file_too_large",
        )
    return upload


def _megabytes(size: int) -> str:
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


class LimitedFileField(forms.FileField):
    """A FileField that refuses files over UPLOAD_MAX_BYTES with a clear message."""

    def clean(self, data: object, initial: object = None) -> object:
        cleaned = super().clean(data, initial)
        if isinstance(cleaned, UploadedFile):
            upload_size_check(cleaned)
        return cleaned
