"""The RQ dashboard (django-rq) is for the people who run the servers, not for organizers.

django-rq lets any staff user in, and every organizer is staff (staff is the key to the back
office), so a supervolunteer of one organization could list every organization's jobs and empty,
requeue or stop them. Here every dashboard page answers 403 to staff who are not superusers;
the metrics endpoints still accept RQ_API_TOKEN as a bearer token.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern
from django_rq import models as rq_models
from django_rq.admin import QueueAdmin


def superuser_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if user.is_authenticated and not user.is_superuser:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


class SuperuserQueueAdmin(QueueAdmin):
    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser)

    def get_urls(self) -> list[URLPattern]:
        return [
            URLPattern(pattern.pattern, superuser_only(pattern.callback), pattern.default_args, pattern.name)
            for pattern in super().get_urls()
        ]


if admin.site.is_registered(rq_models.Dashboard):
    admin.site.unregister(rq_models.Dashboard)
admin.site.register(rq_models.Dashboard, SuperuserQueueAdmin)
