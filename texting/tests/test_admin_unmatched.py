from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Organization, User
from texting.models import Direction, Message, MessageStatus

pytestmark = pytest.mark.django_db


def _unmatched(body: str, service: str, **kwargs: object) -> Message:
    return Message.objects.create(
        direction=Direction.INBOUND,
        body=body,
        status=MessageStatus.RECEIVED,
        from_number="+12025550999",
        to_number="+15005550006",
        messaging_service_sid=service,
        **kwargs,
    )


@pytest.fixture
def replies(organization: Organization, other_organization: Organization, contact: object) -> dict[str, Message]:
    organization.messaging_service_sid = "MGours"
    organization.save()
    other_organization.messaging_service_sid = "MGtheirs"
    other_organization.save()
    return {
        "ours": _unmatched("who is this?", "MGours", media_urls=["https://x.example/1", "https://x.example/2"]),
        "theirs": _unmatched("wrong number", "MGtheirs"),
        "shared": _unmatched("on the shared service", ""),
    }


def test_organizers_see_unmatched_replies_to_their_own_services(
    client: Client, owner: User, replies: dict[str, Message]
) -> None:
    client.force_login(owner)
    response = client.get(reverse("admin:texting_unmatchedreply_changelist"))
    assert response.status_code == 200
    assert [m.body for m in response.context["cl"].result_list] == ["who is this?"]
    assert b"who is this?" in response.content
    detail = client.get(reverse("admin:texting_unmatchedreply_change", args=[replies["ours"].pk]))
    assert detail.status_code == 200 and b"https://x.example/2" in detail.content


def test_another_organizations_unmatched_reply_is_not_found(
    client: Client, owner: User, outsider: User, replies: dict[str, Message]
) -> None:
    client.force_login(owner)
    assert client.get(reverse("admin:texting_unmatchedreply_change", args=[replies["theirs"].pk])).status_code == 404
    client.force_login(outsider)
    listed = client.get(reverse("admin:texting_unmatchedreply_changelist")).context["cl"].result_list
    assert [m.body for m in listed] == ["wrong number"]


def test_texters_do_not_see_the_list(client: Client, texter: User, replies: dict[str, Message]) -> None:
    client.force_login(texter)
    response = client.get(reverse("admin:texting_unmatchedreply_changelist"))
    assert response.status_code in (302, 403)


def test_unmatched_replies_are_read_only(client: Client, owner: User, replies: dict[str, Message]) -> None:
    client.force_login(owner)
    assert client.get(reverse("admin:texting_unmatchedreply_add")).status_code == 403
    assert (
        client.post(
            reverse("admin:texting_unmatchedreply_change", args=[replies["ours"].pk]), {"body": "edited"}
        ).status_code
        == 403
    )


def test_matched_replies_are_not_listed(
    client: Client, owner: User, contact: object, replies: dict[str, Message]
) -> None:
    Message.objects.filter(pk=replies["ours"].pk).update(contact=contact)
    client.force_login(owner)
    assert list(client.get(reverse("admin:texting_unmatchedreply_changelist")).context["cl"].result_list) == []


def test_the_list_says_what_it_is_and_an_empty_one_says_all_is_well(
    client: Client, owner: User, organization: Organization
) -> None:
    client.force_login(owner)
    page = client.get(reverse("admin:texting_unmatchedreply_changelist")).content.decode()
    assert "match to a contact" in page and "No unmatched replies" in page
    organization.messaging_service_sid = "MGours"
    organization.save()
    _unmatched("who is this?", "MGours")
    page = client.get(reverse("admin:texting_unmatchedreply_changelist")).content.decode()
    assert "who is this?" in page and "No unmatched replies" not in page
    searched = client.get(reverse("admin:texting_unmatchedreply_changelist"), {"q": "nothing like it"})
    # A search with no hits shows Django's own "0 results" instead.
    assert "No unmatched replies" not in searched.content.decode()
