"""Tickets (SPEC K1): requesters, tickets and their public or internal comments."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from phonenumber_field.modelfields import PhoneNumberField

from supportcenter.models import TenantModel


class EndUser(TenantModel):
    """A requester: a person who asks for help, known by phone number and/or email.

    Not a ``User``: end users never sign in. Unique per account by phone (Talk
    finds the caller's tickets by the caller id) and by email.
    """

    name = models.CharField(max_length=200, blank=True)
    phone = PhoneNumberField(null=True, blank=True)  # E.164 in the database
    email = models.EmailField(blank=True)  # stored lower-cased by the services
    # Set when an agent or admin of the account is the requester (the reference lets any
    # user ask): the API shows the member's user id as the ticket's requester_id.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "phone"], condition=Q(phone__isnull=False), name="enduser_unique_phone"
            ),
            models.UniqueConstraint(
                fields=["account", "email"], condition=~Q(email=""), name="enduser_unique_email"
            ),
            models.UniqueConstraint(
                fields=["account", "user"], condition=Q(user__isnull=False), name="enduser_unique_user"
            ),
        ]

    def __str__(self) -> str:
        if self.name:
            return self.name
        if self.phone:
            return self.phone.as_international
        return self.email or f"End user {self.pk}"


class TicketCounter(TenantModel):
    """The last ticket number handed out in an account (one row per account).

    Ticket numbers are small and sequential per account, as Zendesk users expect,
    yet say nothing about any other account's volume. The row is incremented with
    a single conditional UPDATE inside the ticket's transaction, so two concurrent
    creations queue on its row lock instead of taking the same number.
    """

    last_number = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account"], name="ticketcounter_unique_account")]


class TicketStatus(models.TextChoices):
    NEW = "new", "New"
    OPEN = "open", "Open"
    PENDING = "pending", "Pending"
    SOLVED = "solved", "Solved"
    CLOSED = "closed", "Closed"


class TicketPriority(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


class TicketType(models.TextChoices):
    PROBLEM = "problem", "Problem"
    INCIDENT = "incident", "Incident"
    QUESTION = "question", "Question"
    TASK = "task", "Task"


class Via(models.TextChoices):
    """The channel a ticket or comment came through (Zendesk's ``via.channel``)."""

    VOICE = "voice", "Phone call"
    API = "api", "API"
    WEB = "web", "Web"


class Ticket(TenantModel):
    Status = TicketStatus
    Priority = TicketPriority
    Type = TicketType
    Via = Via

    # The public id in URLs and the API; ``id`` (random) stays internal.
    number = models.PositiveBigIntegerField(editable=False)
    subject = models.CharField(max_length=255)
    # The first public comment's body, kept for the API's read-only ``description``.
    description = models.TextField(blank=True, editable=False)
    status = models.CharField(max_length=8, choices=TicketStatus.choices, default=TicketStatus.NEW)
    via = models.CharField(max_length=8, choices=Via.choices, default=Via.WEB, editable=False)
    requester = models.ForeignKey(
        EndUser, on_delete=models.PROTECT, null=True, blank=True, related_name="tickets"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        editable=False,
    )
    # The reference's ticket fields (issue 15). Blank priority/type: none set (null in the API).
    priority = models.CharField(max_length=8, choices=TicketPriority.choices, blank=True, default="")
    type = models.CharField(max_length=8, choices=TicketType.choices, blank=True, default="")
    # Normalised by the services: lower-case, no spaces, unique, sorted.
    tags = models.JSONField(default=list, blank=True)
    group = models.ForeignKey(
        "supportcenter.Group", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    external_id = models.CharField(max_length=255, blank=True, default="")
    due_at = models.DateTimeField(null=True, blank=True)
    # Stored as the client gave them: [{"id": ..., "value": ...}, ...].
    custom_fields = models.JSONField(default=list, blank=True)
    is_public = models.BooleanField(default=True)
    collaborators = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["account", "number"], name="ticket_unique_number"),
            models.CheckConstraint(
                condition=Q(status__in=TicketStatus.values), name="ticket_status_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["account", "status"], name="ticket_account_status"),
            models.Index(fields=["account", "assignee"], name="ticket_account_assignee"),
            models.Index(
                fields=["account", "external_id"], condition=~Q(external_id=""), name="ticket_account_external_id"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.number} {self.subject}"

    @property
    def is_closed(self) -> bool:
        return self.status == self.Status.CLOSED


class TicketAudit(TenantModel):
    """One write to a ticket and what it changed (the reference's ticket audits).

    ``events`` holds the reference's event objects (``Create``, ``Change``, ``Comment``,
    ...) as the API shows them, ids included; ``metadata`` the audit's ``metadata``.
    """

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="audits")
    # Null means the system.
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    via = models.CharField(max_length=8, choices=Via.choices, default=Via.WEB)
    events = models.JSONField(default=list)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at"], name="audit_ticket_created")]

    def __str__(self) -> str:
        return f"Audit of #{self.ticket.number}"


class Comment(TenantModel):
    """A public reply (the requester may see it) or an internal note (agents only, K2)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="comments")
    # Null means the system (Talk writes call events as internal comments).
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    body = models.TextField()
    public = models.BooleanField(default=True)
    via = models.CharField(max_length=8, choices=Via.choices, default=Via.WEB)
    # The audit that added it (null for comments written before audits existed).
    audit = models.ForeignKey(TicketAudit, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at"], name="comment_ticket_created")]

    def __str__(self) -> str:
        return f"{'Public' if self.public else 'Internal'} comment on #{self.ticket.number}"


class JobStatus(TenantModel):
    """The outcome of a bulk write (the reference's ``job_status``).

    The reference runs bulk updates as background jobs a client polls; here they run
    inside the request, all or nothing, so a job is born ``completed`` and this row
    only lets ``job_statuses/{id}.json`` answer what the request already answered.
    """

    status = models.CharField(max_length=16, default="completed")
    total = models.PositiveIntegerField(default=0)
    progress = models.PositiveIntegerField(default=0)
    message = models.CharField(max_length=255, blank=True)
    # The reference's results: [{"id": <ticket id>, "action": "update", "success": true, "status": "Updated"}].
    results = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Job {self.pk} ({self.status})"
