"""Personas and ready-made campaigns for every test.

Three personas in every view test: the organization's `owner`, its `texter`, and an `outsider`
(the owner of another organization).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from pytest_django.fixtures import Settings as SettingsWrapper

from accounts.models import Membership, Organization, Role, User
from campaigns.models import Assignment, Campaign, Contact, InteractionStep
from spoke.testing import (
    AssignmentFactory,
    CampaignFactory,
    CannedResponseFactory,
    ContactFactory,
    InteractionStepFactory,
    MembershipFactory,
    OrganizationFactory,
    UserFactory,
)


@pytest.fixture(autouse=True)
def jobs_run_in_process(settings: SettingsWrapper) -> None:
    """Jobs run in the test's own process after commit; tests of the RQ path turn this off."""
    settings.JOBS_SYNC = True


@pytest.fixture(autouse=True)
def media_in_tmp(settings: SettingsWrapper, tmp_path_factory: pytest.TempPathFactory) -> None:
    settings.MEDIA_ROOT = tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session", autouse=True)
def _end_idle_thread_sessions(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """Before the test database is dropped, end the sessions the run's other threads still hold
    (asgiref's executor thread keeps its connection between async tests), so the drop succeeds."""
    yield
    with django_db_blocker.unblock():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )


@pytest.fixture(autouse=True)
def fresh_cache(settings: SettingsWrapper) -> None:
    """Each test starts with an empty in-process cache (API throttling counters, webhook
    subscriptions), knowing that no webhook endpoint exists yet: the hot paths' statement counts
    do not depend on which test filled the cache first."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "tests"}}
    from django.core.cache import cache

    from core.live import stats_windows_forget
    from integrations.events import subscriptions_assume_none

    cache.clear()
    stats_windows_forget()
    subscriptions_assume_none()


TRANSACTION_CONTROL = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT", "BEGIN", "COMMIT", "ROLLBACK")


@contextmanager
def _assert_statements(expected: int) -> Iterator[CaptureQueriesContext]:
    with CaptureQueriesContext(connection) as context:
        yield context
    statements = [q["sql"] for q in context.captured_queries if not q["sql"].upper().startswith(TRANSACTION_CONTROL)]
    if len(statements) != expected:
        listing = "\n\n".join(f"{i}. {sql}" for i, sql in enumerate(statements, 1))
        pytest.fail(f"Expected {expected} SQL statements, {len(statements)} were run:\n\n{listing}")


@pytest.fixture
def assert_statements(db: None) -> Callable[[int], AbstractContextManager[CaptureQueriesContext]]:
    """Like django_assert_num_queries, but transaction control (savepoints) is not counted,
    as in the design's budgets, and the SQL is printed when the count is wrong."""
    return _assert_statements


def _member(organization: Organization, role: str, **kwargs: object) -> User:
    user = UserFactory.create(**kwargs)
    MembershipFactory.create(user=user, organization=organization, role=role)
    if role in (Role.OWNER, Role.ADMIN, Role.SUPERVOLUNTEER):
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    return user


@pytest.fixture
def organization(db: None) -> Organization:
    return OrganizationFactory.create(name="Vote Forward")


@pytest.fixture
def owner(organization: Organization) -> User:
    return _member(organization, Role.OWNER, email="owner@example.com", first_name="Olive")


@pytest.fixture
def admin_user(organization: Organization) -> User:
    return _member(organization, Role.ADMIN, email="admin@example.com", first_name="Adam")


@pytest.fixture
def supervolunteer(organization: Organization) -> User:
    return _member(organization, Role.SUPERVOLUNTEER, email="super@example.com", first_name="Sam")


@pytest.fixture
def texter(organization: Organization) -> User:
    return _member(organization, Role.TEXTER, email="texter@example.com", first_name="Ada", last_name="Lovelace")


@pytest.fixture
def other_texter(organization: Organization) -> User:
    return _member(organization, Role.TEXTER, email="texter2@example.com", first_name="Grace")


@pytest.fixture
def other_organization(db: None) -> Organization:
    return OrganizationFactory.create(name="Other Org")


@pytest.fixture
def outsider(other_organization: Organization) -> User:
    return _member(other_organization, Role.OWNER, email="outsider@example.com", first_name="Otto")


@pytest.fixture
def campaign(organization: Organization) -> Campaign:
    """A started campaign with a two-level script and a canned response."""
    campaign = CampaignFactory.create(organization=organization, title="Get out the vote")
    root = InteractionStepFactory.create(
        campaign=campaign,
        script="Hi {firstName}, this is {texterFirstName} with Vote Forward. Can we count on your vote?",
        question="Can we count on your vote?",
    )
    yes = InteractionStepFactory.create(
        campaign=campaign,
        parent=root,
        answer_option="Yes",
        script="Great! Do you need a ride to the polls?",
        question="Need a ride?",
        position=0,
    )
    InteractionStepFactory.create(
        campaign=campaign, parent=root, answer_option="No", script="Thanks anyway!", question="", position=1
    )
    InteractionStepFactory.create(
        campaign=campaign, parent=yes, answer_option="Needs ride", script="We'll be in touch.", question=""
    )
    CannedResponseFactory.create(campaign=campaign)
    return campaign


@pytest.fixture
def assignment(campaign: Campaign, texter: User) -> Assignment:
    return AssignmentFactory.create(campaign=campaign, texter=texter)


@pytest.fixture
def contact(campaign: Campaign, assignment: Assignment) -> Contact:
    return ContactFactory.create(campaign=campaign, assignment=assignment, first_name="Maria", last_name="Lopez")


@pytest.fixture
def root_step(campaign: Campaign) -> InteractionStep:
    return InteractionStep.objects.get(campaign=campaign, parent__isnull=True)


def login(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


@pytest.fixture
def owner_client(client: Client, owner: User) -> Client:
    return login(client, owner)


@pytest.fixture
def texter_client(client: Client, texter: User) -> Client:
    return login(client, texter)


@pytest.fixture
def outsider_client(client: Client, outsider: User) -> Client:
    return login(client, outsider)


__all__ = ["Membership", "login"]
