from __future__ import annotations

from django.http import HttpRequest

from ops.maintenance import Maintenance, maintenance_get


def maintenance(request: HttpRequest) -> dict[str, Maintenance | None]:
    """`maintenance` in every template: the notice while it is on, else None (no statement, no round trip)."""
    state = maintenance_get()
    return {"maintenance": state if state.enabled else None}
