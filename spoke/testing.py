"""The shared test base: factory_boy factories for every core model.

Fixtures built from these (personas: owner, texter, outsider…) live in the root conftest.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import factory
from django.utils import timezone

from accounts.models import Membership, Organization, Role, User
from campaigns.models import (
    Assignment,
    Campaign,
    CannedResponse,
    Contact,
    ContactStatus,
    InteractionStep,
    Tag,
)
from texting.models import Direction, Message, MessageStatus

# The original Spoke's contact lists, in the shared/ folder that sits beside the repository
# (on developer machines and in CI alike).
SPOKE_FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "spoke"

PASSWORD = "correct-horse-battery"  # noqa: S105 (test users only)


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj: User, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create:
            obj.save()


class OrganizationFactory(factory.django.DjangoModelFactory[Organization]):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Organization {n}")
    # Tests pin "now" with time_machine where hours matter; by default texting is always open.
    texting_hours_enforced = False


class MembershipFactory(factory.django.DjangoModelFactory[Membership]):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = Role.TEXTER


class CampaignFactory(factory.django.DjangoModelFactory[Campaign]):
    class Meta:
        model = Campaign

    organization = factory.SubFactory(OrganizationFactory)
    title = factory.Sequence(lambda n: f"Campaign {n}")
    description = "Get out the vote"
    is_started = True
    started_at = factory.LazyFunction(timezone.now)


class InteractionStepFactory(factory.django.DjangoModelFactory[InteractionStep]):
    class Meta:
        model = InteractionStep

    campaign = factory.SubFactory(CampaignFactory)
    parent = None
    script = "Hi {firstName}, this is {texterFirstName}. Can we count on your vote?"
    question = "Will you vote?"


class CannedResponseFactory(factory.django.DjangoModelFactory[CannedResponse]):
    class Meta:
        model = CannedResponse

    campaign = factory.SubFactory(CampaignFactory)
    title = "Where do I vote?"
    text = "You can find your polling place at vote.example.org"


class TagFactory(factory.django.DjangoModelFactory[Tag]):
    class Meta:
        model = Tag

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"tag {n}")


class AssignmentFactory(factory.django.DjangoModelFactory[Assignment]):
    class Meta:
        model = Assignment

    campaign = factory.SubFactory(CampaignFactory)
    texter = factory.SubFactory(UserFactory)


class ContactFactory(factory.django.DjangoModelFactory[Contact]):
    class Meta:
        model = Contact

    campaign = factory.SubFactory(CampaignFactory)
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    cell = factory.Sequence(lambda n: f"+1202555{n % 10000:04d}")
    zip = "20001"
    timezone = "America/New_York"
    status = ContactStatus.NEEDS_MESSAGE


class MessageFactory(factory.django.DjangoModelFactory[Message]):
    class Meta:
        model = Message

    contact = factory.SubFactory(ContactFactory)
    campaign = factory.LazyAttribute(lambda m: m.contact.campaign)
    organization = factory.LazyAttribute(lambda m: m.contact.campaign.organization)
    direction = Direction.OUTBOUND
    body = "Hello"
    status = MessageStatus.SENT
    to_number = factory.LazyAttribute(lambda m: m.contact.cell)


def admin_form_data(response: Any) -> dict[str, Any]:
    """The POST a browser would send for a Django admin change form as rendered (fields and inlines)."""
    data: dict[str, Any] = {}

    def add_form(form: Any) -> None:
        for name, field in form.fields.items():
            if field.disabled:
                continue
            value = form[name].value()
            key = form.add_prefix(name)
            if isinstance(value, bool):
                if value:
                    data[key] = "on"
            elif isinstance(value, list | tuple):
                data[key] = list(value)
            elif value is not None:
                data[key] = value

    add_form(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for name, value in formset.management_form.initial.items():
            data[f"{formset.prefix}-{name}"] = value
        # Extra (blank) rows are left out, as a browser leaves them unchanged.
        data[f"{formset.prefix}-TOTAL_FORMS"] = len(formset.initial_forms)
        for form in formset.initial_forms:
            add_form(form)
    return data


# PostgreSQL sessions of the servers and workers a test starts carry this application name (libpq
# reads PGAPPNAME when it connects), so a test can end exactly those sessions once the processes
# stopped — never the test process's own, which other threads (asgiref's) keep open between tests.
CHILD_APPLICATION_NAME = "spoke-test-child"


def end_child_sessions() -> None:
    """End the lingering PostgreSQL sessions of stopped test servers/workers: the database must drop."""
    from django.db import connections

    connection = connections["default"]
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = %s",
            [CHILD_APPLICATION_NAME],
        )
