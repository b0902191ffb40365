"""Two organizations with one of everything, for the authorization matrix."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone
from rest_framework.authtoken.models import Token

from accounts.models import Invite, Membership, Organization, Role, User
from campaigns.models import (
    Assignment,
    Campaign,
    Contact,
    ImportJob,
    InteractionStep,
    OptOut,
    OptOutEvent,
    OptOutSource,
    Tag,
)
from integrations.models import WebhookDelivery, WebhookEndpoint
from spoke.testing import (
    AssignmentFactory,
    CampaignFactory,
    CannedResponseFactory,
    ContactFactory,
    InteractionStepFactory,
    MembershipFactory,
    MessageFactory,
    OrganizationFactory,
    TagFactory,
    UserFactory,
)
from texting.models import Direction, ExportJob, Message, MessageStatus

PERSONAS = ("anonymous", "texter", "supervolunteer", "admin", "owner", "outsider")


@dataclass
class Org:
    """One organization's objects; `marker` is in every name, so a page leaking them is caught."""

    marker: str
    organization: Organization
    people: dict[str, User]
    campaign: Campaign
    assignment: Assignment
    contact: Contact
    message: Message
    unmatched: Message
    step: InteractionStep
    canned_id: int
    tag: Tag
    optout: OptOut
    optout_event: OptOutEvent
    import_job: ImportJob
    export_job: ExportJob
    invite: Invite
    token: Token
    endpoint: WebhookEndpoint
    delivery: WebhookDelivery
    membership: Membership
    extra: dict[str, Any] = field(default_factory=dict)

    def secrets(self) -> list[bytes]:
        """What another organization's pages must never show."""
        cells = [self.contact.cell, self.unmatched.from_number, self.optout.cell]
        return [self.marker.encode(), self.token.key.encode(), *(cell.encode() for cell in cells)]


def _member(organization: Organization, role: str, email: str, first_name: str) -> User:
    user = UserFactory.create(email=email, first_name=first_name, is_staff=role != Role.TEXTER)
    MembershipFactory.create(user=user, organization=organization, role=role)
    return user


def build_org(marker: str, number: int) -> Org:
    """`number` (1-9) makes the organization's phone numbers its own."""
    organization = OrganizationFactory.create(name=f"{marker} Org", messaging_service_sid=f"MG{marker}")
    slug = marker.lower()
    people = {
        "texter": _member(organization, Role.TEXTER, f"texter@{slug}.example.com", f"{marker}Texter"),
        "supervolunteer": _member(organization, Role.SUPERVOLUNTEER, f"super@{slug}.example.com", f"{marker}Super"),
        "admin": _member(organization, Role.ADMIN, f"admin@{slug}.example.com", f"{marker}Admin"),
        "owner": _member(organization, Role.OWNER, f"owner@{slug}.example.com", f"{marker}Owner"),
    }
    campaign = CampaignFactory.create(
        organization=organization, title=f"{marker} Campaign", use_dynamic_assignment=True
    )
    step = InteractionStepFactory.create(campaign=campaign, script=f"Hi {{firstName}} from {marker}", question="Q?")
    answer = InteractionStepFactory.create(campaign=campaign, parent=step, answer_option="Yes", script="Thanks")
    canned = CannedResponseFactory.create(campaign=campaign, title=f"{marker} canned")
    assignment = AssignmentFactory.create(campaign=campaign, texter=people["texter"])
    contact = ContactFactory.create(
        campaign=campaign, assignment=assignment, first_name=f"{marker}Contact", cell=f"+1312555{number}011"
    )
    message = MessageFactory.create(contact=contact, texter=people["texter"], body=f"{marker} message body")
    unmatched = Message.objects.create(
        organization=organization,
        direction=Direction.INBOUND,
        body=f"{marker} unmatched reply",
        status=MessageStatus.RECEIVED,
        from_number=f"+1312555{number}022",
        provider_sid=f"SM{marker}unmatched",
        messaging_service_sid=f"MG{marker}",
    )
    owner = people["owner"]
    optout = OptOut.objects.create(
        organization=organization, cell=f"+1312555{number}033", source=OptOutSource.ORGANIZER
    )
    optout_event = OptOutEvent.objects.create(
        organization=organization,
        cell=f"+1312555{number}033",
        action=OptOutEvent.Action.OPT_OUT,
        source=OptOutSource.ORGANIZER,
        reason=f"{marker} reason",
        created_by=owner,
    )
    import_job = ImportJob.objects.create(campaign=campaign, created_by=owner, original_name=f"{marker}.csv")
    export_job = ExportJob.objects.create(campaign=campaign, created_by=owner, status="done")
    invite = Invite.objects.create(
        organization=organization, email=f"new@{slug}.example.com", expires_at=timezone.now() + dt.timedelta(days=3)
    )
    endpoint = WebhookEndpoint.objects.create(
        organization=organization, url=f"https://{slug}.example.org/hook", description=f"{marker} endpoint"
    )
    delivery = WebhookDelivery.objects.create(endpoint=endpoint, event="optout.created", payload={"m": marker})
    return Org(
        marker=marker,
        organization=organization,
        people=people,
        campaign=campaign,
        assignment=assignment,
        contact=contact,
        message=message,
        unmatched=unmatched,
        step=answer,
        canned_id=canned.pk,
        tag=TagFactory.create(organization=organization, name=f"{marker} tag"),
        optout=optout,
        optout_event=optout_event,
        import_job=import_job,
        export_job=export_job,
        invite=invite,
        token=Token.objects.create(user=owner),
        endpoint=endpoint,
        delivery=delivery,
        membership=Membership.objects.get(user=people["texter"]),
    )
