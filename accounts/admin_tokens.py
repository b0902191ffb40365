"""API tokens in the back office: each organizer creates and revokes their own; superusers anyone's.

Replaces rest_framework.authtoken's own admin, which lists every user's token to whoever holds
the model permission.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from rest_framework.authtoken.models import Token, TokenProxy

from accounts.admin_scoping import acting_user, organizer_scope
from accounts.models import Role

if admin.site.is_registered(TokenProxy):
    admin.site.unregister(TokenProxy)


@admin.register(TokenProxy)
class ApiTokenAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("user", "created")
    readonly_fields = ("key", "user", "created")
    raw_id_fields = ("user",)

    def _is_organizer(self, request: HttpRequest) -> bool:
        return organizer_scope(request).allows(Role.SUPERVOLUNTEER)

    def _owns(self, request: HttpRequest, obj: Any) -> bool:
        return obj is None or request.user.is_superuser or obj.user_id == request.user.pk

    def get_queryset(self, request: HttpRequest) -> QuerySet[TokenProxy]:
        queryset = super().get_queryset(request).select_related("user")
        return queryset if request.user.is_superuser else queryset.filter(user_id=request.user.pk)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._is_organizer(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._is_organizer(request) and self._owns(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._is_organizer(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._is_organizer(request) and self._owns(request, obj)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is not None:
            return ("key", "user", "created")
        return ("user",) if request.user.is_superuser else ()

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ("key", "user", "created") if obj is not None else ()

    @transaction.atomic
    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        user = obj.user if request.user.is_superuser and obj.user_id else acting_user(request)
        # One token per user: creating a new one revokes the old.
        Token.objects.filter(user=user).delete()
        token = Token.objects.create(user=user)
        obj.key, obj.user, obj.created = token.key, user, token.created
        obj._state.adding = False
        messages.info(
            request, "Use it as `Authorization: Token <key>`. Anyone holding it acts as this user in the API."
        )
