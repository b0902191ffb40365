"""Walk every URL pattern the resolver knows and build a request for it from an organization's objects."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from campaigns.models import Campaign
from spoke.tests.security.world import Org


@dataclass(frozen=True)
class Route:
    route: str  # the pattern as written, prefixes included: the key of the expectation table
    name: str  # namespaced URL name, for reverse()
    kwargs: tuple[str, ...]


def _kwarg_names(pattern: Any) -> list[str]:
    return list(dict.fromkeys([*pattern.converters, *pattern.regex.groupindex]))


def walk(
    patterns: list[Any] | None = None, prefix: str = "", namespace: str = "", names: tuple[str, ...] = ()
) -> Iterator[Route]:
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from walk(
                entry.url_patterns, prefix + str(entry.pattern), inner, (*names, *_kwarg_names(entry.pattern))
            )
        elif isinstance(entry, URLPattern):
            yield Route(
                route=prefix + str(entry.pattern),
                name=f"{namespace}{entry.name}" if entry.name else "",
                kwargs=(*names, *_kwarg_names(entry.pattern)),
            )


ADMIN_OBJECTS = {
    "accounts_invite": lambda o: o.invite.pk,
    "authtoken_tokenproxy": lambda o: o.token.key,
    "accounts_user": lambda o: o.people["texter"].pk,
    "accounts_membership": lambda o: o.membership.pk,
    "accounts_organization": lambda o: o.organization.pk,
    "campaigns_tag": lambda o: o.tag.pk,
    "campaigns_optout": lambda o: o.optout.pk,
    "campaigns_optoutevent": lambda o: o.optout_event.pk,
    "campaigns_importjob": lambda o: o.import_job.pk,
    "campaigns_campaign": lambda o: o.campaign.pk,
    "campaigns_contact": lambda o: o.contact.pk,
    "texting_message": lambda o: o.message.pk,
    "texting_unmatchedreply": lambda o: o.unmatched.pk,
    "integrations_webhookendpoint": lambda o: o.endpoint.pk,
    "integrations_webhookdelivery": lambda o: o.delivery.pk,
    "django_rq_dashboard": lambda o: 1,
    "ops_maintenancestate": lambda o: 1,  # the one switch row (the owners' system page)
}
API_OBJECTS = {
    "organization": lambda o: o.organization.pk,
    "campaign": lambda o: o.campaign.pk,
    "interactionstep": lambda o: o.step.pk,
    "cannedresponse": lambda o: o.canned_id,
    "contact": lambda o: o.contact.pk,
    "importjob": lambda o: o.import_job.pk,
    "assignment": lambda o: o.assignment.pk,
    "message": lambda o: o.message.pk,
    "optout": lambda o: o.optout.pk,
    "tag": lambda o: o.tag.pk,
    "exportjob": lambda o: o.export_job.pk,
}
# Patterns without a name: the address to request.
UNNAMED = {"": "/", "admin/(?P<url>.*)$": "/admin/no-such-page/", "^media/(?P<path>.*)$": "/media/no-such-file.txt"}
# Patterns that exist only in some runs: uploaded files are served by Django when spoke/urls.py was
# first imported with DEBUG on (development), never in production (DEBUG is refused there).
OPTIONAL = {"^media/(?P<path>.*)$"}
FIXED = {
    "format": "json",
    "kind": "contacts",
    "queue_index": 0,
    "scheduler_index": 0,
    "connection_index": 0,
    "job_id": "no-such-job",
    "result_id": "no-such-result",
    "key": "no-such-worker",
    "scheduler_name": "none",
    "cron_job_name": "none",
    "app_label": "campaigns",
    "url": "no-such-page/",
    "path": "no-such-file.txt",
}


def url_for(route: Route, org: Org) -> str:
    kwargs: dict[str, Any] = {}
    for name in route.kwargs:
        if name in FIXED:
            kwargs[name] = FIXED[name]
        elif name == "token":
            if route.name == "texter:join":
                kwargs[name] = org.campaign.join_token
            elif route.name == "join":
                kwargs[name] = org.invite.token
            else:
                kwargs[name] = "nosuchtoken"
        elif name in {"assignment_id"}:
            kwargs[name] = org.assignment.pk
        elif name == "contact_id" and route.name.startswith("texter:"):
            kwargs[name] = org.contact.pk
        elif name == "content_type_id":
            kwargs[name] = ContentType.objects.get_for_model(Campaign).pk
        elif name == "export_id":
            kwargs[name] = org.export_job.pk
        elif name == "import_id":
            kwargs[name] = org.import_job.pk
        elif name in {"object_id", "id"} and route.route.startswith("admin/"):
            found = re.match(r"admin/(\w+)/(\w+)/", route.route)
            model = f"{found.group(1)}_{found.group(2)}" if found else ""
            if route.name == "admin:view_on_site":
                kwargs[name] = org.campaign.pk
            else:
                kwargs[name] = ADMIN_OBJECTS[model](org)
        elif name == "pk":
            basename = route.name.rsplit("-", 1)[0]
            kwargs[name] = API_OBJECTS[basename](org) if basename in API_OBJECTS else org.campaign.pk
        else:
            raise AssertionError(f"The matrix does not know how to fill <{name}> in {route.route}")
    if route.route in UNNAMED:
        return UNNAMED[route.route]
    if not route.name and re.fullmatch(r"admin/\w+/\w+/<path:object_id>/", route.route):
        return "/" + route.route.replace("<path:object_id>", str(kwargs["object_id"]))  # admin's redirect to change
    if not route.name:
        raise AssertionError(f"{route.route} has no name: name it, or add its address to UNNAMED in {__name__}")
    return reverse(route.name, kwargs=kwargs)


# JSON bodies for POST-only texter endpoints that check their input before the contact: with a
# well-formed body the answer shows whether the persona may act on this contact.
POST_BODIES = {"texter:contact_answer": lambda o: {"step_id": o.step.pk}}


def post_body(route: Route, org: Org) -> dict[str, Any]:
    return POST_BODIES[route.name](org) if route.name in POST_BODIES else {}
