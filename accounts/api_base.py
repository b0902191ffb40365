"""What every REST API view shares: pagination, errors, and the organizer's scope and roles.

The API follows the back office's rules: a user sees the organizations where they are
supervolunteer or above (a foreign id answers 404, like one that never existed), and each
action needs a role in the object's organization (403 with the role it needs).
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from rest_framework import exceptions, permissions, serializers
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from accounts.admin_scoping import OrganizerScope, organization_id_through, organizer_scope, scoped
from accounts.models import Organization, Role
from core.errors import ApplicationError

# The largest id a database column holds: a bigger number is a client's mistake, not a 500.
MAX_ID = 2**63 - 1


class IdField(serializers.IntegerField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(**kwargs)


class Pagination(LimitOffsetPagination):
    default_limit = 100
    max_limit = 1000


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """ApplicationError's message goes to the client as it is, with its code and status."""
    if isinstance(exc, ApplicationError):
        return Response({"detail": exc.message, "code": exc.code}, status=exc.status)
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        return Response(detail, status=400)
    return drf_exception_handler(exc, context)


class IsOrganizer(permissions.BasePermission):
    message = "The API is for organizers: you need to be a supervolunteer, admin or owner of an organization."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return bool(request.user and request.user.is_authenticated) and organizer_scope(request).allows(
            Role.SUPERVOLUNTEER
        )


ROLE_NEEDED = "You need to be {role} (or above) in this organization to do that."


class ScopedMixin(APIView):
    """Querysets cut to the user's organizations; `require_role` gates an action on one object."""

    permission_classes = [IsOrganizer]
    organization_lookup: ClassVar[str] = "organization"
    view_role: ClassVar[Role] = Role.SUPERVOLUNTEER
    # Ids in paths are numbers a database can hold; anything else is a 404 before any query.
    lookup_value_regex = r"[0-9]{1,18}"

    @property
    def scope(self) -> OrganizerScope:
        return organizer_scope(self.request)

    def scoped(self, queryset: QuerySet[Any], role: Role | None = None, lookup: str | None = None) -> QuerySet[Any]:
        return scoped(
            queryset,
            lookup=self.organization_lookup if lookup is None else lookup,
            organization_ids=self.scope.organization_ids(role or self.view_role),
        )

    def require_role(self, role: Role, organization_id: int | None) -> None:
        if not self.scope.allows(role, organization_id):
            raise exceptions.PermissionDenied(ROLE_NEEDED.format(role=Role(role).label.lower()))

    def require_role_on(self, role: Role, obj: Any, lookup: str | None = None) -> None:
        self.require_role(role, organization_id_through(obj, self.organization_lookup if lookup is None else lookup))

    def organization_for(self, organization_id: int | None, role: Role) -> Organization:
        """The organization with this id among the user's, where they hold `role` (404 / 403)."""
        if organization_id is None:
            raise exceptions.ValidationError({"organization": ["Give the organization's id."]})
        organization = self.scope.organizations(self.view_role).filter(pk=organization_id).first()
        if organization is None:
            raise exceptions.NotFound("There is no organization with that id among yours.")
        self.require_role(role, organization.pk)
        return organization


def int_param(request: Request, name: str) -> int | None:
    """An integer query parameter, or None when absent; a malformed one is a 400, not a 500."""
    value = request.query_params.get(name)
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except ValueError as exc:
        raise exceptions.ValidationError({name: [f"{name} must be a whole number."]}) from exc
    if not -MAX_ID <= number <= MAX_ID:
        raise exceptions.ValidationError({name: [f"{name} is too large to be an id."]})
    return number


def bool_param(request: Request, name: str) -> bool | None:
    value = request.query_params.get(name)
    if value in (None, ""):
        return None
    if value.lower() in {"true", "1", "yes"}:
        return True
    if value.lower() in {"false", "0", "no"}:
        return False
    raise exceptions.ValidationError({name: [f"{name} must be true or false."]})
