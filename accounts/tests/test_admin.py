"""The back office's people and organization pages: who reaches them, roles, staff sync, secrets."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.hashers import check_password
from django.test import Client, RequestFactory
from django.urls import reverse

from accounts.admin_scoping import organizer_scope
from accounts.models import Membership, Organization, Role, User
from spoke.testing import MembershipFactory, OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db


def url(name: str, *args: Any) -> str:
    return reverse(f"admin:accounts_{name}", args=args)


def organization_form(organization: Organization, **changes: Any) -> dict[str, Any]:
    """The organization change form as a browser posts it, with no inline rows changed."""
    data = {
        "name": organization.name,
        "texting_hours_enforced": "on",
        "texting_hours_start": organization.texting_hours_start,
        "texting_hours_end": organization.texting_hours_end,
        "default_timezone": organization.default_timezone,
        "opt_out_message": organization.opt_out_message,
        "messaging_service_sid": organization.messaging_service_sid,
        "twilio_account_sid": "",
        "twilio_auth_token": "",
    }
    memberships = list(
        Membership.objects.filter(organization=organization, role__in=["owner", "admin", "supervolunteer"])
    )
    data.update(
        {
            "memberships-TOTAL_FORMS": len(memberships),
            "memberships-INITIAL_FORMS": len(memberships),
            "memberships-MIN_NUM_FORMS": 0,
            "memberships-MAX_NUM_FORMS": 1000,
        }
    )
    for index, membership in enumerate(sorted(memberships, key=lambda m: m.pk)):
        data[f"memberships-{index}-id"] = membership.pk
        data[f"memberships-{index}-organization"] = organization.pk
        data[f"memberships-{index}-role"] = membership.role
    data.update(changes)
    return data


# --- Access ------------------------------------------------------------------------------------


def test_admin_site_is_branded_with_a_link_to_the_texter_app(client: Client, owner: User) -> None:
    client.force_login(owner)
    html = client.get(reverse("admin:index")).content.decode()
    assert "Spoke back office" in html
    assert '<a href="/texter/">Texter app</a>' in html


def test_owner_opens_people_and_organization_pages(
    client: Client, owner: User, texter: User, organization: Organization
) -> None:
    client.force_login(owner)
    membership = Membership.objects.get(user=texter)
    for page in (
        url("user_changelist"),
        url("user_add"),
        url("user_change", texter.pk),
        url("organization_changelist"),
        url("organization_change", organization.pk),
        url("membership_changelist"),
        url("membership_add"),
        url("membership_change", membership.pk),
    ):
        assert client.get(page).status_code == 200, page


def test_supervolunteer_sees_no_people_and_no_settings(
    client: Client, supervolunteer: User, texter: User, organization: Organization
) -> None:
    client.force_login(supervolunteer)
    index = client.get(reverse("admin:index")).content.decode()
    assert "Campaigns" in index
    assert url("user_changelist") not in index and url("organization_changelist") not in index
    for page in (
        url("user_changelist"),
        url("user_change", texter.pk),
        url("organization_changelist"),
        url("organization_change", organization.pk),
        url("membership_changelist"),
    ):
        assert client.get(page).status_code in (403, 404), page


def test_texter_is_sent_to_the_admin_login(client: Client, texter: User) -> None:
    client.force_login(texter)
    for page in (reverse("admin:index"), url("user_changelist"), url("organization_changelist")):
        response = client.get(page)
        assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))


def test_outsider_sees_none_of_the_organizations_people(
    client: Client, outsider: User, owner: User, texter: User, organization: Organization
) -> None:
    client.force_login(outsider)
    people = client.get(url("user_changelist")).content.decode()
    assert "outsider@example.com" in people
    assert "owner@example.com" not in people and "texter@example.com" not in people
    assert "Vote Forward" not in client.get(url("organization_changelist")).content.decode()
    for page in (
        url("user_change", texter.pk),
        url("organization_change", organization.pk),
        url("membership_change", Membership.objects.get(user=texter).pk),
    ):
        response = client.get(page)
        assert response.status_code == 404, page
        assert b"texter@example.com" not in response.content


# --- People ----------------------------------------------------------------------------------------


def test_admin_adds_a_person_who_joins_with_a_role(
    client: Client, admin_user: User, organization: Organization
) -> None:
    client.force_login(admin_user)
    form = client.get(url("user_add")).context["adminform"].form
    assert list(form.fields["organization"].queryset) == [organization]
    response = client.post(
        url("user_add"),
        {
            "email": "New.Person@Example.com",
            "first_name": "New",
            "last_name": "Person",
            "password1": "a-long-unusual-passphrase",
            "password2": "a-long-unusual-passphrase",
            "organization": organization.pk,
            "role": Role.SUPERVOLUNTEER,
        },
    )
    assert response.status_code == 302
    person = User.objects.get(email="new.person@example.com")
    assert check_password("a-long-unusual-passphrase", person.password)
    assert Membership.objects.get(user=person).role == Role.SUPERVOLUNTEER
    assert person.is_staff  # supervolunteers reach the back office


def test_admin_cannot_make_owners(client: Client, admin_user: User, organization: Organization) -> None:
    client.force_login(admin_user)
    response = client.post(
        url("user_add"),
        {
            "email": "boss@example.com",
            "password1": "a-long-unusual-passphrase",
            "password2": "a-long-unusual-passphrase",
            "organization": organization.pk,
            "role": Role.OWNER,
        },
    )
    assert response.status_code == 200
    assert "Only an owner can give or take the owner role." in response.content.decode()
    assert not User.objects.filter(email="boss@example.com").exists()


def test_org_admin_cannot_change_a_persons_email_or_password(client: Client, admin_user: User, texter: User) -> None:
    client.force_login(admin_user)
    assert client.get(reverse("admin:auth_user_password_change", args=[texter.pk])).status_code == 403
    response = client.post(
        url("user_change", texter.pk),
        {"first_name": "Ada", "last_name": "King", "cell": "", "email": "mine@example.com"},
    )
    assert response.status_code == 302
    texter.refresh_from_db()
    assert texter.last_name == "King"
    assert texter.email == "texter@example.com"


def test_membership_role_changes_keep_back_office_access_in_sync(
    client: Client, owner: User, texter: User, organization: Organization
) -> None:
    membership = Membership.objects.get(user=texter)
    client.force_login(owner)
    response = client.post(url("membership_change", membership.pk), {"role": Role.ADMIN})
    assert response.status_code == 302
    texter.refresh_from_db()
    assert texter.is_staff
    response = client.post(url("membership_delete", membership.pk), {"post": "yes"})
    assert response.status_code == 302
    texter.refresh_from_db()
    assert not texter.is_staff
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_existing_account_is_added_by_email(
    client: Client, owner: User, outsider: User, organization: Organization
) -> None:
    client.force_login(owner)
    response = client.post(
        url("membership_add"), {"email": "OUTSIDER@example.com", "organization": organization.pk, "role": "texter"}
    )
    assert response.status_code == 302
    assert Membership.objects.get(user=outsider, organization=organization).role == Role.TEXTER
    response = client.post(
        url("membership_add"), {"email": "nobody@example.com", "organization": organization.pk, "role": "texter"}
    )
    assert response.status_code == 200 and "No account uses this email" in response.content.decode()


def test_last_owner_cannot_be_demoted_or_removed(client: Client, owner: User, organization: Organization) -> None:
    membership = Membership.objects.get(user=owner)
    client.force_login(owner)
    response = client.post(url("membership_change", membership.pk), {"role": Role.TEXTER})
    assert response.status_code == 200 and "at least one owner" in response.content.decode()
    assert client.get(url("membership_delete", membership.pk)).status_code == 403
    response = client.post(
        url("organization_change", organization.pk),
        organization_form(organization, **{"memberships-0-DELETE": "on"}),
    )
    assert response.status_code == 200 and "at least one owner" in response.content.decode()
    membership.refresh_from_db()
    assert membership.role == Role.OWNER


def test_organizer_inline_changes_roles_through_the_service(
    client: Client, owner: User, organization: Organization
) -> None:
    helper = UserFactory(email="helper@example.com")
    MembershipFactory(user=helper, organization=organization, role=Role.TEXTER)
    client.force_login(owner)
    data = organization_form(organization)
    index = data["memberships-TOTAL_FORMS"]
    # Texters are not listed among the organizers: picking one promotes their membership.
    data.update(
        {
            "memberships-TOTAL_FORMS": index + 1,
            f"memberships-{index}-user": helper.pk,
            f"memberships-{index}-role": Role.SUPERVOLUNTEER,
        }
    )
    response = client.post(url("organization_change", organization.pk), data)
    assert response.status_code == 302
    helper.refresh_from_db()
    assert Membership.objects.get(user=helper).role == Role.SUPERVOLUNTEER
    assert helper.is_staff


def test_owner_hands_the_organization_over_in_one_save(
    client: Client, owner: User, admin_user: User, organization: Organization
) -> None:
    client.force_login(owner)
    data = organization_form(organization)
    rows = {data[f"memberships-{i}-id"]: i for i in range(data["memberships-TOTAL_FORMS"])}
    mine, theirs = rows[Membership.objects.get(user=owner).pk], rows[Membership.objects.get(user=admin_user).pk]
    # Removing the only owner is allowed because the same save makes someone else owner.
    data.update({f"memberships-{mine}-DELETE": "on", f"memberships-{theirs}-role": Role.OWNER})
    response = client.post(url("organization_change", organization.pk), data)
    assert response.status_code == 302
    assert list(Membership.objects.filter(organization=organization).values_list("user", "role")) == [
        (admin_user.pk, Role.OWNER)
    ]
    owner.refresh_from_db()
    assert not owner.is_staff


def test_owner_swaps_roles_with_an_admin_in_one_save(
    client: Client, owner: User, admin_user: User, organization: Organization
) -> None:
    client.force_login(owner)
    data = organization_form(organization)
    rows = {data[f"memberships-{i}-id"]: i for i in range(data["memberships-TOTAL_FORMS"])}
    mine, theirs = rows[Membership.objects.get(user=owner).pk], rows[Membership.objects.get(user=admin_user).pk]
    # The owner's row comes first, yet the save may not demote them before the admin is promoted.
    assert mine < theirs
    data.update({f"memberships-{mine}-role": Role.ADMIN, f"memberships-{theirs}-role": Role.OWNER})
    response = client.post(url("organization_change", organization.pk), data)
    assert response.status_code == 302
    assert Membership.objects.get(user=owner).role == Role.ADMIN
    assert Membership.objects.get(user=admin_user).role == Role.OWNER


# --- Organization settings -----------------------------------------------------------------------


def test_twilio_credentials_are_saved_but_never_shown(client: Client, owner: User, organization: Organization) -> None:
    client.force_login(owner)
    response = client.post(
        url("organization_change", organization.pk),
        organization_form(organization, twilio_account_sid="AC-secret-sid", twilio_auth_token="token-secret-value"),
    )
    assert response.status_code == 302
    organization.refresh_from_db()
    assert (organization.twilio_account_sid, organization.twilio_auth_token) == ("AC-secret-sid", "token-secret-value")
    page = client.get(url("organization_change", organization.pk)).content.decode()
    assert "token-secret-value" not in page and "AC-secret-sid" not in page
    assert 'type="password"' in page and "Saved for this organization." in page

    client.post(url("organization_change", organization.pk), organization_form(organization, opt_out_message="Bye"))
    organization.refresh_from_db()
    assert organization.opt_out_message == "Bye"
    assert organization.twilio_auth_token == "token-secret-value"  # blank keeps what is saved

    client.post(
        url("organization_change", organization.pk), organization_form(organization, clear_twilio_credentials="on")
    )
    organization.refresh_from_db()
    assert organization.twilio_auth_token == "" and organization.twilio_account_sid == ""


def test_texting_hours_must_end_after_they_start(client: Client, owner: User, organization: Organization) -> None:
    client.force_login(owner)
    response = client.post(
        url("organization_change", organization.pk),
        organization_form(organization, texting_hours_start=21, texting_hours_end=9),
    )
    assert response.status_code == 200 and "Texting must end after it starts." in response.content.decode()


def test_only_superusers_create_or_delete_organizations(
    client: Client, owner: User, organization: Organization
) -> None:
    client.force_login(owner)
    assert client.get(url("organization_add")).status_code == 403
    assert client.get(url("organization_delete", organization.pk)).status_code == 403
    superuser = User.objects.create_superuser(email="root@example.com", password="x")
    client.force_login(superuser)
    assert client.get(url("organization_add")).status_code == 200
    assert client.get(url("organization_change", organization.pk)).status_code == 200


# --- Scope -------------------------------------------------------------------------------------


def test_scope_holds_the_users_own_role_in_each_organization(
    rf: RequestFactory, supervolunteer: User, owner: User, texter: User, organization: Organization
) -> None:
    elsewhere = OrganizationFactory()
    MembershipFactory(user=supervolunteer, organization=elsewhere, role=Role.ADMIN)
    MembershipFactory(user=UserFactory(), organization=elsewhere, role=Role.OWNER)
    request = rf.get("/admin/")
    request.user = supervolunteer
    scope = organizer_scope(request)
    assert dict(scope.roles) == {organization.pk: Role.SUPERVOLUNTEER, elsewhere.pk: Role.ADMIN}
    assert scope.organization_ids(Role.ADMIN) == [elsewhere.pk]
    assert scope.allows(Role.SUPERVOLUNTEER, organization.pk) and not scope.allows(Role.ADMIN, organization.pk)
    texter_request = rf.get("/admin/")
    texter_request.user = texter
    assert organizer_scope(texter_request).organization_ids(Role.SUPERVOLUNTEER) == []


def test_people_autocomplete_offers_only_the_users_organizations(
    client: Client, outsider: User, owner: User, texter: User
) -> None:
    client.force_login(outsider)
    response = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "accounts", "model_name": "membership", "field_name": "user", "term": ""},
    )
    assert response.status_code == 200
    emails = {User.objects.get(pk=item["id"]).email for item in response.json()["results"]}
    assert emails == {"outsider@example.com"}
