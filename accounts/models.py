from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models
from django.utils.crypto import salted_hmac

DEFAULT_OPT_OUT_MESSAGE = "I'm opting you out of texts immediately. Have a great day."


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **extra: Any) -> User:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(email, password, **extra)

    def get_by_natural_key(self, username: str | None) -> User:
        # People type their email with whatever capitals their phone chose; addresses are stored lower-case.
        return self.get(email__iexact=username)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.update(is_staff=True, is_superuser=True)
        return self._create(email, password, **extra)


class User(AbstractUser):
    """A person who logs in by email: an organizer, a texter, or both in different organizations."""

    username = None  # type: ignore[assignment]
    email = models.EmailField("email address", unique=True)
    cell = models.CharField(max_length=20, blank=True, help_text="The texter's own phone, E.164.")
    # "Log out everywhere" moves this on: every session signed with the old value stops working,
    # whatever the session engine (database, cache or cached_db), at no cost per request.
    session_epoch = models.PositiveIntegerField(default=0, editable=False)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    objects: ClassVar[UserManager] = UserManager()  # type: ignore[assignment]

    def __str__(self) -> str:
        return self.get_full_name() or self.email

    def _get_session_auth_hash(self, secret: str | None = None) -> str:
        # Epoch 0 keeps Django's own hash, so sessions made before this field existed stay valid.
        if not self.session_epoch:
            return super()._get_session_auth_hash(secret=secret)  # type: ignore[misc]
        value = f"{self.password}:{self.session_epoch}"
        return salted_hmac("accounts.User.session_auth_hash", value, secret=secret, algorithm="sha256").hexdigest()


class Organization(models.Model):
    name = models.CharField(max_length=200)
    texting_hours_enforced = models.BooleanField(default=True)
    texting_hours_start = models.PositiveSmallIntegerField(
        default=9, validators=[MaxValueValidator(23)], help_text="Hour of day (0-23), in each contact's timezone."
    )
    texting_hours_end = models.PositiveSmallIntegerField(
        default=21, validators=[MaxValueValidator(24)], help_text="Hour of day (1-24), in each contact's timezone."
    )
    default_timezone = models.CharField(
        max_length=64, default="America/New_York", help_text="Used when a contact's timezone is unknown."
    )
    opt_out_message = models.TextField(default=DEFAULT_OPT_OUT_MESSAGE)
    messaging_service_sid = models.CharField(
        max_length=64, blank=True, help_text="Default Twilio messaging service for this organization's campaigns."
    )
    send_rate_per_second = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Most messages per second sent through each messaging service (empty: the server's default). "
        "Ask Twilio what your numbers or messaging service allow.",
    )
    twilio_account_sid = models.CharField(max_length=64, blank=True)
    twilio_auth_token = models.CharField(max_length=128, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.texting_hours_enforced and self.texting_hours_start >= self.texting_hours_end:
            raise ValidationError(
                {"texting_hours_end": "Texting hours must end after they start (for example 9 to 21)."}
            )


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    SUPERVOLUNTEER = "supervolunteer", "Supervolunteer"
    TEXTER = "texter", "Texter"
    SUSPENDED = "suspended", "Suspended"


ROLE_RANK = {Role.SUSPENDED: 0, Role.TEXTER: 1, Role.SUPERVOLUNTEER: 2, Role.ADMIN: 3, Role.OWNER: 4}
ORGANIZER_ROLES = (Role.OWNER, Role.ADMIN, Role.SUPERVOLUNTEER)


class MembershipQuerySet(models.QuerySet["Membership"]):
    def at_least(self, role: str) -> MembershipQuerySet:
        return self.filter(role__in=[r for r, rank in ROLE_RANK.items() if rank >= ROLE_RANK[Role(role)]])


class Membership(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.TEXTER)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "organization"], name="membership_unique_user_org")]

    def __str__(self) -> str:
        return f"{self.user} · {self.organization} ({self.get_role_display()})"

    def has_role(self, role: str) -> bool:
        return ROLE_RANK[Role(self.role)] >= ROLE_RANK[Role(role)]


def _invite_token() -> str:
    import secrets

    return secrets.token_urlsafe(24)


class Invite(models.Model):
    """A join link: whoever opens it (logged in, or signing up there) joins the organization
    with `role`. Works once, until `expires_at`."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="invites")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.TEXTER)
    email = models.EmailField(blank=True, help_text="Optional: who it is meant for (shown on the join page).")
    token = models.CharField(max_length=64, unique=True, default=_invite_token, editable=False)
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"Invite to {self.organization} as {self.get_role_display()}"
