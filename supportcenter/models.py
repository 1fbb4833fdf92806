from __future__ import annotations

import zoneinfo

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django_scopes import ScopedManager

from supportcenter.ids import RandomIdField

SUBDOMAIN_RE = r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"
RESERVED_SUBDOMAINS = frozenset({"www", "api", "admin", "static", "mail", "app"})

TIME_ZONE_CHOICES = sorted((name, name) for name in zoneinfo.available_timezones())
LANGUAGE_CHOICES = [
    ("en", "English"),
    ("ja", "Japanese"),
    ("de", "German"),
    ("fr", "French"),
    ("es", "Spanish"),
    ("pt", "Portuguese"),
    ("it", "Italian"),
    ("nl", "Dutch"),
]


class Account(models.Model):
    """A tenant (SPEC T1). Every tenant-owned row references one."""

    class Plan(models.TextChoices):
        TEAM = "team", "Team"
        PROFESSIONAL = "professional", "Professional"
        ENTERPRISE = "enterprise", "Enterprise"

    id = RandomIdField()
    subdomain = models.CharField(
        max_length=63,
        unique=True,
        validators=[RegexValidator(SUBDOMAIN_RE, "Use lowercase letters, digits and hyphens.")],
    )
    name = models.CharField(max_length=200)
    time_zone = models.CharField(max_length=64, choices=TIME_ZONE_CHOICES, default="UTC")
    default_language = models.CharField(max_length=8, choices=LANGUAGE_CHOICES, default="en")
    region = models.CharField(
        max_length=2,
        default="US",
        help_text="ISO 3166 country code used to read phone numbers without a + prefix.",
        validators=[RegexValidator(r"^[A-Z]{2}$", "Use a two-letter country code, e.g. US or JP.")],
    )
    plan = models.CharField(max_length=16, choices=Plan.choices, default=Plan.PROFESSIONAL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["subdomain"]

    def __str__(self) -> str:
        return self.subdomain


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra) -> "User":
        if not email:
            raise ValueError("A user needs an email address.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra) -> "User":
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractUser):
    """A person. Belongs to accounts through memberships (SPEC T4)."""

    id = RandomIdField()
    username = None  # type: ignore[assignment]
    first_name = None  # type: ignore[assignment]
    last_name = None  # type: ignore[assignment]
    email = models.EmailField(unique=True)
    name = models.CharField(max_length=200)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = ["name"]

    objects = UserManager()

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email


class TenantModel(models.Model):
    """Base of every tenant-owned table: scoped queries fail closed (SPEC T2)."""

    id = RandomIdField()
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")

    objects = ScopedManager(account="account")

    class Meta:
        abstract = True


class Membership(TenantModel):
    class Role(models.TextChoices):
        ADMIN = "admin", "Admin"
        AGENT = "agent", "Agent"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=8, choices=Role.choices, default=Role.AGENT)
    # An agent an admin made a supervisor (SPEC S1, S2); admins supervise anyway.
    supervisor = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "user"], name="membership_unique_user"),
        ]

    @property
    def is_admin(self) -> bool:
        return self.role == self.Role.ADMIN

    @property
    def is_supervisor(self) -> bool:
        """May see and steer the callback queue (SPEC S1, S2): admins and supervisors."""
        return self.is_admin or self.supervisor


class ApiToken(TenantModel):
    """An API token of one user in one account. Only its hash is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    description = models.CharField(max_length=200)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    key_prefix = models.CharField(max_length=8, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class AuditEntry(TenantModel):
    """Who did what, written by every service in the same transaction as the change."""

    actor = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "audit entries"
        # A record's history by action (the Talk stats read agents' status changes by it).
        indexes = [
            models.Index(fields=["account", "action", "target_id", "created_at"], name="audit_action_target_time"),
        ]


GROUP_NAME_LENGTH = 100
GROUP_DESCRIPTION_LENGTH = 1000


class Group(TenantModel):
    """A team of agents and admins of the account (the reference's groups; issue 15).

    Lines will name groups to route their calls to (SPEC R14): a group only ever holds
    members of its account (:class:`GroupMembership`). At most one group is the
    account's default.
    """

    name = models.CharField(max_length=GROUP_NAME_LENGTH)
    description = models.CharField(max_length=GROUP_DESCRIPTION_LENGTH, blank=True)
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint("account", Lower("name"), name="group_unique_name_ci"),
            models.UniqueConstraint(
                fields=["account"], condition=models.Q(is_default=True), name="group_one_default"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class GroupMembership(TenantModel):
    """A user in a group; the user is an active member of the group's account (services check)."""

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="group_memberships")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["group", "user"], name="groupmembership_unique_user"),
        ]
