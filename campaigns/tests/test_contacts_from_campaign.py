"""Contacts from a previous campaign by the answer to a chosen question of its script, or to any."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from accounts.models import Organization
from campaigns.models import Campaign, Contact, InteractionStep, QuestionResponse
from campaigns.services import contacts_copy_from_campaign
from core.errors import ApplicationError
from spoke.testing import CampaignFactory, ContactFactory, InteractionStepFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def answered(campaign: Campaign) -> dict[str, Any]:
    """Answers to the campaign's two questions: "Can we count on your vote?" and "Need a ride?"."""
    vote = InteractionStep.objects.get(campaign=campaign, parent__isnull=True)
    ride = InteractionStep.objects.get(campaign=campaign, question="Need a ride?")
    people = {
        name: ContactFactory.create(campaign=campaign, cell=f"+1202555030{i}", first_name=name)
        for i, name in enumerate(["vote_yes", "vote_no", "ride_yes", "ride_needs"])
    }
    for name, step, value in [
        ("vote_yes", vote, "Yes"),
        ("vote_no", vote, "No"),
        ("ride_yes", ride, "Yes"),
        ("ride_needs", ride, "Needs ride"),
    ]:
        QuestionResponse.objects.create(contact=people[name], interaction_step=step, value=value)
    return {"vote": vote, "ride": ride, **people}


@pytest.fixture
def target(organization: Organization) -> Campaign:
    return CampaignFactory.create(organization=organization, is_started=False, started_at=None, title="Follow-up")


def copied(target: Campaign) -> set[str]:
    names = set(Contact.objects.filter(campaign=target).values_list("first_name", flat=True))
    Contact.objects.filter(campaign=target).delete()
    return names


def test_the_answer_to_a_chosen_question_or_to_any(campaign: Campaign, target: Campaign, answered: Any) -> None:
    vote, ride = answered["vote"].pk, answered["ride"].pk
    contacts_copy_from_campaign(campaign=target, source=campaign, answer="yes")
    assert copied(target) == {"vote_yes", "ride_yes"}  # any question
    contacts_copy_from_campaign(campaign=target, source=campaign, answer="yes", question_id=vote)
    assert copied(target) == {"vote_yes"}
    contacts_copy_from_campaign(campaign=target, source=campaign, answer="Needs ride", question_id=ride)
    assert copied(target) == {"ride_needs"}
    contacts_copy_from_campaign(campaign=target, source=campaign, question_id=ride)
    assert copied(target) == {"ride_yes", "ride_needs"}  # everyone who answered it


def test_a_question_of_another_campaign_is_refused(
    campaign: Campaign, target: Campaign, organization: Organization, answered: Any
) -> None:
    elsewhere = InteractionStepFactory.create(campaign=CampaignFactory.create(organization=organization), question="?")
    with pytest.raises(ApplicationError, match="not in “Get out the vote”'s script"):
        contacts_copy_from_campaign(campaign=target, source=campaign, answer="yes", question_id=elsewhere.pk)
    assert not Contact.objects.filter(campaign=target).exists()


def _url(name: str, campaign: Campaign) -> str:
    return reverse(f"admin:campaigns_campaign_{name}", args=[campaign.pk])


def test_the_form_offers_each_campaigns_questions_and_filters_by_the_chosen_one(
    owner_client: Client, campaign: Campaign, target: Campaign, answered: Any
) -> None:
    page = owner_client.get(_url("upload", target))
    assert page.status_code == 200
    html = page.content.decode()
    assert '<option value="" selected>Any question</option>' in html
    assert f'<optgroup label="{campaign}">' in html
    assert f'value="{answered["ride"].pk}" data-source="{campaign.pk}">Need a ride?</option>' in html

    data = {"source": campaign.pk, "question": answered["vote"].pk, "answer": "YES"}
    response = owner_client.post(_url("from_campaign", target), data)
    (note,) = [str(m) for m in get_messages(response.wsgi_request)]
    assert note.startswith("Added 1 contact ")
    assert copied(target) == {"vote_yes"}
    owner_client.post(_url("from_campaign", target), {"source": campaign.pk, "question": "", "answer": "yes"})
    assert copied(target) == {"vote_yes", "ride_yes"}


def test_the_form_refuses_a_question_of_another_campaign(
    owner_client: Client, campaign: Campaign, target: Campaign, organization: Organization, answered: Any
) -> None:
    other = CampaignFactory.create(organization=organization, title="Spring canvass")
    question = InteractionStepFactory.create(campaign=other, question="Will you volunteer?")
    response = owner_client.post(
        _url("from_campaign", target), {"source": campaign.pk, "question": question.pk, "answer": "yes"}
    )
    notes = [str(m) for m in get_messages(response.wsgi_request)]
    assert notes == [
        "That question is not in “Get out the vote”'s script: choose one of its questions, or any question."
    ]
    assert not Contact.objects.filter(campaign=target).exists()
