"""Create the demo organization, people and a ready, started campaign. Safe to run again."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from accounts.models import Membership, Organization, Role, User
from accounts.services import owner_staff_sync
from campaigns.hours import contact_timezone
from campaigns.models import Assignment, Campaign, CannedResponse, Contact, ContactStatus, Tag
from campaigns.scripts import render_script, script_fields
from campaigns.services import campaign_start, script_add_answer, script_set_first_message
from texting.models import Direction, Message, MessageStatus
from texting.providers.base import InboundSMS
from texting.providers.fake import FAKE_FROM_NUMBER
from texting.services import message_receive

DEMO_PASSWORD = "spoke-demo"  # noqa: S105 (documented demo logins for a local server)
ORGANIZATION_NAME = "Spoke Demo"
PEOPLE = [
    ("organizer@example.com", "Olivia", "Organizer", Role.OWNER),
    ("texter1@example.com", "Ada", "Lovelace", Role.TEXTER),
    ("texter2@example.com", "Grace", "Hopper", Role.TEXTER),
]
FIRST_NAMES = [
    "Maria", "James", "Aisha", "Chen", "Sofia", "Liam", "Fatima", "Noah", "Priya", "Diego",
    "Hana", "Omar", "Zoe", "Kwame", "Lena", "Mateo", "Yuki", "Elena", "Sam", "Ines",
]  # fmt: skip
LAST_NAMES = ["Lopez", "Smith", "Khan", "Wei", "Rossi", "Murphy", "Haddad", "Brown", "Patel", "Garcia"]
# Zip codes across US timezones, so the contact panel shows different local times.
ZIPS = ["60614", "10001", "90012", "96813", "99501", "80202", "85004", "00901", "33101", "98101"]
COLORS = ["green", "orange", "blue", "purple", "red"]
CONTACTS_PER_TEXTER = 20


class Command(BaseCommand):
    help = (
        "Create the demo: organization 'Spoke Demo', an organizer and two texters (password 'spoke-demo'), "
        "and a started campaign with a two-level script, canned responses and contacts assigned to both texters. "
        "Running it again changes nothing but the demo passwords."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            organization, created = Organization.objects.get_or_create(
                name=ORGANIZATION_NAME,
                # Hours are off so the demo works at any time of day; turn them on in the back office.
                defaults={"texting_hours_enforced": False, "default_timezone": "America/Chicago"},
            )
            people = [self._person(organization, *person) for person in PEOPLE]
            if created or not organization.campaigns.exists():
                self._campaign(organization, people)
        self.stdout.write(self.style.SUCCESS("Demo ready."))
        self.stdout.write("  Log in at http://127.0.0.1:8000/accounts/login/ with password 'spoke-demo' as:")
        self.stdout.write("    organizer@example.com  (back office: /admin/)")
        self.stdout.write("    texter1@example.com    (texter app: /texter/)")
        self.stdout.write("    texter2@example.com    (texter app: /texter/)")

    def _person(self, organization: Organization, email: str, first: str, last: str, role: str) -> User:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(email=email, password=DEMO_PASSWORD, first_name=first, last_name=last)
        else:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        Membership.objects.get_or_create(user=user, organization=organization, defaults={"role": role})
        owner_staff_sync(user=user)
        return user

    def _campaign(self, organization: Organization, people: list[User]) -> None:
        texters = people[1:]
        campaign = Campaign.objects.create(
            organization=organization,
            title="Get out the vote — demo",
            description="Remind supporters to vote on Tuesday and find who needs a ride.",
            intro_html=(
                "<p>Thanks for texting with us! Be friendly, be brief, and <strong>never argue</strong>. "
                "Opt out anyone who asks.</p>"
            ),
            primary_color="#2563eb",
            timezone="America/Chicago",
        )
        root = script_set_first_message(
            campaign=campaign,
            script=(
                "Hi {firstName}, this is {texterFirstName} with Spoke Demo. Can we count on your vote on "
                "Tuesday? Reply STOP to opt out. (Demo: autorespond makes the fake phone company reply.)"
            ),
            question="Can we count on your vote?",
        )
        yes = script_add_answer(
            parent=root,
            answer_option="Yes",
            script="Wonderful, thank you {firstName}! Do you know where your polling place is?",
            question="Knows their polling place?",
        )
        script_add_answer(parent=yes, answer_option="Knows it", script="Great, see you at the polls!")
        script_add_answer(
            parent=yes,
            answer_option="Needs help",
            script="You can look it up at vote.example.org — or reply with your address and I'll find it.",
        )
        script_add_answer(parent=root, answer_option="No", script="Thanks for letting me know, {firstName}.")
        script_add_answer(parent=root, answer_option="Maybe", script="No problem! Can I send you a reminder on Monday?")
        for position, (title, text) in enumerate(
            [
                ("Where do I vote?", "You can find your polling place at vote.example.org."),
                ("Wrong number", "Sorry to bother you! I'll remove this number from our list."),
                ("Call me", "Happy to talk! Someone from our team will call you today."),
            ]
        ):
            CannedResponse.objects.create(campaign=campaign, title=title, text=text, position=position)
        for name, group in [("needs ride", "Voting"), ("volunteer", "Engagement"), ("wrong number", "Data")]:
            Tag.objects.get_or_create(organization=organization, name=name, defaults={"group": group})

        contacts = []
        for i in range(CONTACTS_PER_TEXTER * len(texters)):
            contacts.append(
                Contact(
                    campaign=campaign,
                    first_name=FIRST_NAMES[i % len(FIRST_NAMES)],
                    last_name=LAST_NAMES[i % len(LAST_NAMES)],
                    # 555-01xx numbers are reserved for fiction.
                    cell=f"+1{['202', '312', '213', '808'][i // 100]}55501{i % 100:02d}",
                    zip=ZIPS[i % len(ZIPS)],
                    custom_fields={"favorite_color": COLORS[i % len(COLORS)]},
                    timezone="",
                )
            )
        for contact in contacts:
            contact.timezone = contact_timezone(zip_code=contact.zip, cell=contact.cell)
        Contact.objects.bulk_create(contacts)
        for texter in texters:
            assignment = Assignment.objects.create(campaign=campaign, texter=texter)
            ids = list(
                Contact.objects.filter(campaign=campaign, assignment__isnull=True)
                .order_by("id")
                .values_list("id", flat=True)[:CONTACTS_PER_TEXTER]
            )
            Contact.objects.filter(id__in=ids).update(assignment=assignment)
        campaign_start(campaign=campaign)

        # A few conversations already under way. The first messages are written as delivered (sending
        # them would make the fake provider autorespond too); the replies take the real inbound path.
        replies = ["Yes, I'll be there!", "Where do I vote?", "Who is this?"]
        for texter in texters:
            for contact, reply in zip(
                Contact.objects.filter(assignment__texter=texter, campaign=campaign).order_by("-id")[:3],
                replies,
                strict=False,
            ):
                body = render_script(root.script, script_fields(contact=contact, texter_first_name=texter.first_name))
                Message.objects.create(
                    organization=organization,
                    campaign=campaign,
                    contact=contact,
                    texter=texter,
                    direction=Direction.OUTBOUND,
                    body=body,
                    status=MessageStatus.DELIVERED,
                    provider="fake",
                    provider_sid=f"SMdemo-out-{contact.pk}",
                    to_number=contact.cell,
                    sent_at=timezone.now(),
                    delivered_at=timezone.now(),
                )
                Contact.objects.filter(pk=contact.pk).update(status=ContactStatus.MESSAGED)
                message_receive(
                    inbound=InboundSMS(
                        sid=f"SMdemo-in-{contact.pk}", from_number=contact.cell, to_number=FAKE_FROM_NUMBER, body=reply
                    )
                )
