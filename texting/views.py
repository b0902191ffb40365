"""The texter web app: server-rendered pages, HTML fragments the page swaps in, and JSON actions.

Views are thin: parse, call one service or selector, render. Every fetch is scoped to the
logged-in texter; someone else's assignment or contact answers 404.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from accounts.models import User
from campaigns import selectors as campaign_selectors
from campaigns.models import Assignment, Contact, ContactStatus
from campaigns.services import assignment_join, assignment_release, contacts_request_more
from core.errors import ApplicationError
from texting import selectors
from texting.models import Message
from texting.services import (
    message_send,
    survey_answer_record,
    texter_opt_out,
    texter_skip,
    texter_tags_set,
)


class AuthenticatedHttpRequest(HttpRequest):
    user: User


def _assignment_or_404(request: AuthenticatedHttpRequest, assignment_id: int) -> Assignment:
    assignment = selectors.assignment_get_for_texter(user=request.user, assignment_id=assignment_id)
    if assignment is None:
        raise Http404("No such assignment.")
    return assignment


def _int_or_none(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


# --- Pages -------------------------------------------------------------------------------------


@login_required
@require_GET
def todo_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    todos = selectors.todo_list_for_texter(user=request.user)
    return render(request, "texter/todos.html", {"todos": todos})


@login_required
@require_GET
def todo_cards(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The todo list's cards alone, fetched again when the websocket says something changed."""
    todos = selectors.todo_list_for_texter(user=request.user)
    return render(request, "texter/_cards.html", {"todos": todos})


@login_required
@require_GET
def send_screen(request: AuthenticatedHttpRequest, assignment_id: int) -> HttpResponse:
    assignment = _assignment_or_404(request, assignment_id)
    item = selectors.send_queue_item(assignment=assignment, texter=request.user)
    return render(request, "texter/send.html", _send_context(assignment, item))


@login_required
@require_GET
def send_next(request: AuthenticatedHttpRequest, assignment_id: int) -> HttpResponse:
    """The next (`?after=<contact id>`) or previous (`?before=`) contact to send to, as a fragment."""
    assignment = _assignment_or_404(request, assignment_id)
    item = selectors.send_queue_item(
        assignment=assignment,
        texter=request.user,
        after=_int_or_none(request.GET.get("after")),
        before=_int_or_none(request.GET.get("before")),
    )
    return render(request, "texter/_send_item.html", _send_context(assignment, item))


def _send_context(assignment: Assignment, item: selectors.SendItem) -> dict[str, Any]:
    return {
        "assignment": assignment,
        "campaign": assignment.campaign,
        "colors": selectors.accent_colors(assignment.campaign.primary_color),
        "item": item,
    }


@login_required
@require_GET
def replies_screen(request: AuthenticatedHttpRequest, assignment_id: int) -> HttpResponse:
    assignment = _assignment_or_404(request, assignment_id)
    # `?contact=` is the conversation the texter was on: a refresh shows it again.
    item = selectors.reply_queue_item(
        assignment=assignment, texter=request.user, pinned=_int_or_none(request.GET.get("contact"))
    )
    return render(request, "texter/replies.html", _reply_context(assignment, item))


@login_required
@require_GET
def replies_next(request: AuthenticatedHttpRequest, assignment_id: int) -> HttpResponse:
    """The next (`?after=<cursor>`) or previous (`?before=`) conversation in the queue, as a fragment."""
    assignment = _assignment_or_404(request, assignment_id)
    item = selectors.reply_queue_item(
        assignment=assignment, texter=request.user, after=request.GET.get("after"), before=request.GET.get("before")
    )
    return render(request, "texter/_reply_item.html", _reply_context(assignment, item))


def _reply_context(assignment: Assignment, item: selectors.ReplyItem) -> dict[str, Any]:
    return {
        "assignment": assignment,
        "campaign": assignment.campaign,
        "colors": selectors.accent_colors(assignment.campaign.primary_color),
        "item": item,
        "convo": item.conversation,
        "in_queue": True,
    }


@login_required
@require_GET
def assignment_counts(request: AuthenticatedHttpRequest, assignment_id: int) -> JsonResponse:
    """The assignment's counts; with `?contact=<id>`, also whether that contact is still the
    texter's (the page asks after an organizer changed assignments)."""
    assignment = _assignment_or_404(request, assignment_id)
    counts = selectors.assignment_counts(assignment=assignment)
    data: dict[str, Any] = {"assignment_id": assignment.pk, "campaign_id": assignment.campaign_id, **counts.as_dict()}
    contact_id = _int_or_none(request.GET.get("contact"))
    if contact_id is not None:
        data["contact_state"] = selectors.contact_state_for_assignment(assignment=assignment, contact_id=contact_id)
    return JsonResponse(data)


def _contact_list(request: AuthenticatedHttpRequest, assignment_id: int, *, skipped: bool) -> HttpResponse:
    assignment = _assignment_or_404(request, assignment_id)
    page = _int_or_none(request.GET.get("page")) or 1
    query = request.GET.get("q", "").strip()[:100]
    contacts = selectors.past_conversations(assignment=assignment, page=page, skipped=skipped, query=query)
    context = {
        "assignment": assignment,
        "campaign": assignment.campaign,
        "colors": selectors.accent_colors(assignment.campaign.primary_color),
        "contacts": contacts[: selectors.PAST_PAGE_SIZE],
        "page": page,
        "query": query,
        "skipped": skipped,
        "has_next": len(contacts) > selectors.PAST_PAGE_SIZE,
    }
    return render(request, "texter/past.html", context)


@login_required
@require_GET
def past_list(request: AuthenticatedHttpRequest, assignment_id: int) -> HttpResponse:
    return _contact_list(request, assignment_id, skipped=False)


@login_required
@require_GET
def skipped_list(request: AuthenticatedHttpRequest, assignment_id: int) -> HttpResponse:
    return _contact_list(request, assignment_id, skipped=True)


# --- Dynamic assignment ------------------------------------------------------------------------


@login_required
def join_campaign(request: AuthenticatedHttpRequest, token: uuid.UUID) -> HttpResponse:
    """A campaign's join link: a page that says what joining means, and a button (POST) that joins.
    Someone who is not a texter of the organization is told so, and what to do."""
    campaign = campaign_selectors.campaign_get_by_join_token(token=token)
    if campaign is None:
        raise Http404("No such campaign.")
    if request.method not in ("GET", "POST"):
        return HttpResponse(status=405, headers={"Allow": "GET, POST"})
    is_member = campaign.organization in selectors.texter_organizations(user=request.user)
    context: dict[str, Any] = {
        "campaign": campaign,
        "is_member": is_member,
        "colors": selectors.accent_colors(campaign.primary_color),
    }
    if request.method == "POST":
        try:
            assignment_join(campaign=campaign, user=request.user)
        except ApplicationError as error:
            return render(request, "texter/join.html", {**context, "error": error.message}, status=error.status)
        if campaign.is_started:
            messages.success(request, f"You joined {campaign.title}. Ask for contacts when you're ready to text.")
        else:
            messages.success(request, f"You joined {campaign.title}. It shows up here when the organizers start it.")
        return redirect("texter:todos")
    return render(request, "texter/join.html", context, status=200 if is_member else 403)


def _back(request: HttpRequest, default: str) -> HttpResponseRedirect:
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = default
    return HttpResponseRedirect(target or default)


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


@login_required
@require_POST
def request_more(request: AuthenticatedHttpRequest, assignment_id: int) -> HttpResponse:
    """Dynamic assignment: the next batch of contacts. JSON for the send screen, a redirect for forms."""
    assignment = _assignment_or_404(request, assignment_id)
    try:
        added = contacts_request_more(assignment=assignment)
    except ApplicationError as error:
        if _wants_json(request):
            return _error(error)
        messages.error(request, error.message)
        return _back(request, reverse("texter:todos"))
    text = f"You have {added} more contact{'s' if added != 1 else ''} to text."
    if _wants_json(request):
        return JsonResponse({"added": added, "message": text})
    messages.success(request, text)
    return _back(request, reverse("texter:send", args=[assignment.pk]))


@login_required
@require_POST
def done_for_today(request: AuthenticatedHttpRequest, assignment_id: int) -> HttpResponse:
    """Give unsent contacts (and, if ticked, the replies waiting) back to the campaign's pool."""
    assignment = _assignment_or_404(request, assignment_id)
    include_replies = request.POST.get("include_replies") in {"1", "on", "true"}
    released = assignment_release(assignment=assignment, include_replies=include_replies)
    if released:
        text = f"Thanks! {released} contact{'s' if released != 1 else ''} went back for other texters."
    else:
        text = "Thanks! You had nothing left to hand back."
    if _wants_json(request):
        return JsonResponse({"released": released, "message": text})
    messages.success(request, text)
    return redirect("texter:todos")


def _contact_or_404(request: AuthenticatedHttpRequest, contact_id: int) -> Contact:
    contact = selectors.contact_get_for_texter(user=request.user, contact_id=contact_id)
    if contact is None:
        raise Http404("No such contact.")
    return contact


@login_required
@require_GET
def conversation(request: AuthenticatedHttpRequest, contact_id: int) -> HttpResponse:
    contact = _contact_or_404(request, contact_id)
    convo = selectors.conversation_detail(contact=contact, texter=request.user)
    context = {
        "assignment": contact.assignment,
        "campaign": contact.campaign,
        "colors": convo.colors,
        "convo": convo,
        "in_queue": False,
    }
    return render(request, "texter/conversation.html", context)


@login_required
@require_GET
def conversation_thread(request: AuthenticatedHttpRequest, contact_id: int) -> HttpResponse:
    """A conversation's messages alone: refreshed in place when the contact writes again."""
    contact = _contact_or_404(request, contact_id)
    messages = selectors.thread_for_contact(contact=contact)
    return render(request, "texter/_thread.html", {"contact": contact, "messages": messages})


# --- JSON actions --------------------------------------------------------------------------------

ContactAction = Callable[[AuthenticatedHttpRequest, int, dict[str, Any]], dict[str, Any]]


def _error(error: ApplicationError) -> JsonResponse:
    return JsonResponse({"error": error.message, "code": error.code}, status=error.status)


def _payload(request: HttpRequest) -> dict[str, Any]:
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except ValueError as exc:
            raise ApplicationError("The page sent something unreadable: reload it.", code="bad_request") from exc
        if not isinstance(data, dict):
            raise ApplicationError("The page sent something unreadable: reload it.", code="bad_request")
        return data
    return {key: values if len(values) > 1 else values[0] for key, values in request.POST.lists()}


def contact_action(view: ContactAction) -> Callable[..., HttpResponse]:
    """A JSON POST about one of the texter's contacts: login, POST, expected failures as
    {"error", "code"} with the error's status.

    The services lock the contact only if it is the texter's and the texter is an active member
    of its organization, and answer 404 "not_assigned" otherwise, so no check is repeated here.
    """

    @login_required
    @require_POST
    @wraps(view)
    def wrapper(request: AuthenticatedHttpRequest, contact_id: int) -> HttpResponse:
        try:
            return JsonResponse(view(request, contact_id, _payload(request)))
        except ApplicationError as error:
            return _error(error)

    return wrapper


def _message_json(message: Message) -> dict[str, Any]:
    return {
        "id": message.pk,
        "body": message.body,
        "direction": message.direction,
        "status": message.status,
        "segments": message.segments,
        "created_at": message.created_at.isoformat() if message.created_at else None,
    }


def _int(value: Any, what: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise ApplicationError(f"The page sent a bad {what}: reload it.", code="bad_request") from exc


@contact_action
def contact_send(request: AuthenticatedHttpRequest, contact_id: int, data: dict[str, Any]) -> dict[str, Any]:
    try:
        send_key = uuid.UUID(str(data["send_key"])) if data.get("send_key") else None
    except ValueError as exc:
        raise ApplicationError("The page sent a bad send key: reload it.", code="bad_request") from exc
    message = message_send(
        texter=request.user,
        contact_id=contact_id,
        body=str(data.get("body", "")),
        send_key=send_key,
        first_message=bool(data.get("first_message")),
    )
    contact_status = message.contact.status if message.contact else None
    return {"message": _message_json(message), "contact_status": contact_status}


@contact_action
def contact_answer(request: AuthenticatedHttpRequest, contact_id: int, data: dict[str, Any]) -> dict[str, Any]:
    step = survey_answer_record(texter=request.user, contact_id=contact_id, step_id=_int(data.get("step_id"), "answer"))
    contact = selectors.contact_get_for_texter(user=request.user, contact_id=contact_id, active_campaign=False)
    if contact is None:  # reassigned since the answer was recorded
        raise ApplicationError(
            "This contact is no longer assigned to you — moving on.", code="not_assigned", status=404
        )
    survey_html = render_to_string(
        "texter/_survey.html", {"survey": selectors.survey_for_contact(contact=contact)}, request=request
    )
    return {
        "script": selectors.answer_script(contact=contact, step=step, texter=request.user),
        "step_id": step.pk,
        "survey_html": survey_html,
    }


@contact_action
def contact_optout(request: AuthenticatedHttpRequest, contact_id: int, data: dict[str, Any]) -> dict[str, Any]:
    send_message = str(data.get("send_message", "0")).lower() in {"1", "true", "on", "yes"}
    texter_opt_out(texter=request.user, contact_id=contact_id, send_message=send_message)
    return {"contact_status": ContactStatus.CLOSED, "opted_out": True, "message_sent": send_message}


@contact_action
def contact_skip(request: AuthenticatedHttpRequest, contact_id: int, data: dict[str, Any]) -> dict[str, Any]:
    texter_skip(texter=request.user, contact_id=contact_id)
    return {"contact_status": ContactStatus.CLOSED}


@contact_action
def contact_tags(request: AuthenticatedHttpRequest, contact_id: int, data: dict[str, Any]) -> dict[str, Any]:
    raw = data.get("tag_ids", [])
    tag_ids = [_int(value, "tag") for value in (raw if isinstance(raw, list) else [raw]) if value != ""]
    return {"tag_ids": texter_tags_set(texter=request.user, contact_id=contact_id, tag_ids=tag_ids)}
