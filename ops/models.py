from __future__ import annotations

from django.db import models


class MaintenanceState(models.Model):
    """The maintenance switch: one row (id 1), the source of truth behind its cached copy."""

    enabled = models.BooleanField(default=False)
    message = models.CharField(max_length=300, blank=True)
    changed_by = models.CharField(max_length=254, blank=True, help_text="Who flipped it (email or 'manage.py').")
    changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # Its admin is the owners' system page (texting/admin_system.py): the name the sidebar shows.
        verbose_name = "system status"
        verbose_name_plural = "system status"

    def __str__(self) -> str:
        return "on" if self.enabled else "off"
