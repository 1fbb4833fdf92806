"""Calls, the virtual queue and callback requests (SPEC C1-C12, R2).

A caller has one ``QueueEntry`` from the moment they join the line's queue. When
they ask for a callback the same entry turns into a callback entry: it keeps its
``entered_at``, which is what "keeping their place in line" means (C6, R2).
"""
from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Coalesce

from supportcenter.models import TenantModel


class Call(TenantModel):
    class Direction(models.TextChoices):
        INBOUND = "inbound", "Inbound"
        OUTBOUND = "outbound", "Outbound"

    class Stage(models.TextChoices):
        GREETING = "greeting", "Greeting"
        QUEUED = "queued", "In queue"
        MENU = "menu", "Callback menu"
        NUMBER_ENTRY = "number_entry", "Entering a number"
        CONFIRMING = "confirming", "Confirming"
        ENDED = "ended", "Ended"

    class Outcome(models.TextChoices):
        NONE = "", "In progress"
        ANSWERED = "answered", "Answered by an agent"
        CALLBACK_REQUESTED = "callback_requested", "Left with a callback request"
        CALLBACK_CAPTURED = "callback_captured", "Hung up after the callback key (captured)"
        ABANDONED = "abandoned", "Abandoned in queue"
        ALREADY_WAITING = "already_waiting", "Left: a callback was already waiting (C7)"
        ENDED_BEFORE_QUEUE = "ended_before_queue", "Ended before joining the queue"
        FAILED = "failed", "Failed"

    class NumberSource(models.TextChoices):
        CALLER_ID = "caller_id", "Caller id"
        SIP_FROM = "sip_from", "SIP From URI"
        ENTERED = "entered", "Entered on the keypad"

    line = models.ForeignKey("talk.Line", on_delete=models.PROTECT, related_name="calls")
    provider_call_sid = models.CharField(max_length=64)
    direction = models.CharField(max_length=8, choices=Direction.choices, default=Direction.INBOUND)
    from_raw = models.CharField(max_length=255, help_text="From, as the provider sent it.")
    caller_number = models.CharField(max_length=20, blank=True, help_text="E.164 caller id, if usable.")
    caller_number_source = models.CharField(max_length=16, choices=NumberSource.choices, blank=True)
    to_raw = models.CharField(max_length=255, blank=True)
    stage = models.CharField(max_length=16, choices=Stage.choices, default=Stage.GREETING)
    outcome = models.CharField(max_length=24, choices=Outcome.choices, default=Outcome.NONE, blank=True)
    # C2 decided once, at arrival, so a replayed webhook gets the same answer (C10).
    callback_offered = models.BooleanField(default=False)
    callback_key_pressed_at = models.DateTimeField(null=True, blank=True)
    pending_number = models.CharField(max_length=20, blank=True)
    pending_number_source = models.CharField(max_length=16, choices=NumberSource.choices, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    provider_status = models.CharField(max_length=16, blank=True)
    # A live call an agent took (R3, R5); D4's per-agent activity reads these.
    answered_by = models.ForeignKey("supportcenter.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(fields=["account", "provider_call_sid"], name="talk_call_unique_sid"),
        ]
        indexes = [
            models.Index(fields=["account", "started_at"], name="talk_call_started"),
            # The incremental export reads calls in order of their last change (dashboards).
            models.Index(
                F("account"), Coalesce("ended_at", "answered_at", "started_at"), F("id"), name="talk_call_updated"
            ),
        ]


class QueueEntry(TenantModel):
    class Kind(models.TextChoices):
        LIVE = "live", "Live call"
        CALLBACK = "callback", "Callback"

    class State(models.TextChoices):
        WAITING = "waiting", "Waiting"
        SERVED = "served", "Served"
        ABANDONED = "abandoned", "Abandoned"
        CANCELLED = "cancelled", "Cancelled"

    line = models.ForeignKey("talk.Line", on_delete=models.PROTECT, related_name="queue_entries")
    call = models.OneToOneField(Call, on_delete=models.PROTECT, null=True, blank=True, related_name="queue_entry")
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.LIVE)
    state = models.CharField(max_length=12, choices=State.choices, default=State.WAITING)
    entered_at = models.DateTimeField(help_text="The original time the caller joined the queue (R2).")
    left_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["entered_at"]
        indexes = [
            models.Index(fields=["line", "state", "entered_at"], name="talk_queue_order"),
            # The dashboard's time ranges (D1-D5): one account's rows by a time column.
            models.Index(fields=["account", "entered_at"], name="talk_queue_entered"),
            models.Index(fields=["account", "left_at"], name="talk_queue_left"),
            models.Index(fields=["account", "entered_at"], condition=Q(state="waiting"), name="talk_queue_waiting"),
        ]


class CallbackRequest(TenantModel):
    class State(models.TextChoices):
        PENDING = "pending", "Waiting for an agent"
        IN_PROGRESS = "in_progress", "Calling back"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Not reached"
        DECLINED = "declined", "Declined by every agent"
        EXPIRED = "expired", "Expired"
        CANCELLED = "cancelled", "Cancelled"

    class CancelledBy(models.TextChoices):
        NONE = "", "Not cancelled"
        SUPERVISOR = "supervisor", "A supervisor"
        CALLER = "caller", "The caller"

    class Outcome(models.TextChoices):
        """How it ended (D5); the state says where it is."""

        NONE = "", "Open"
        ANSWERED = "answered", "Answered"
        NO_ANSWER = "no_answer", "No answer"
        BUSY = "busy", "Busy"
        FAILED = "failed", "Failed"
        DECLINED = "declined", "Declined by all"
        EXPIRED = "expired", "Expired"
        CANCELLED = "cancelled", "Cancelled"

    line = models.ForeignKey("talk.Line", on_delete=models.PROTECT, related_name="callback_requests")
    queue_entry = models.OneToOneField(QueueEntry, on_delete=models.PROTECT, related_name="callback_request")
    # One request per call (capture and confirmation race on this constraint).
    call = models.OneToOneField(Call, on_delete=models.PROTECT, null=True, blank=True, related_name="callback_request")
    number = models.CharField(max_length=20, help_text="E.164 number to call back.")
    number_source = models.CharField(max_length=16, choices=Call.NumberSource.choices)
    language = models.CharField(max_length=8)
    confirmed = models.BooleanField(default=True, help_text="False: captured on first key (C8).")
    state = models.CharField(max_length=12, choices=State.choices, default=State.PENDING)
    requested_at = models.DateTimeField()
    queue_entered_at = models.DateTimeField(help_text="The call's original queue entry time.")
    expires_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    # Routing and the callback call (R5-R12); the dashboard reads them (D3, D5).
    accepted_by = models.ForeignKey("supportcenter.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    started_at = models.DateTimeField(null=True, blank=True, help_text="An agent started the callback (D3's end).")
    served_in_order = models.BooleanField(null=True, help_text="No caller queued earlier was still waiting (D5).")
    first_attempt_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    outcome = models.CharField(max_length=12, choices=Outcome.choices, blank=True, default="")
    duration_seconds = models.PositiveIntegerField(null=True, blank=True, help_text="Talk time of the completed callback.")
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    # An API request's own groups (group_ids): offered to them rather than the line's (R14).
    groups = models.ManyToManyField("supportcenter.Group", blank=True, related_name="+")
    # Supervision (S2): a preferred agent offered it first from assigned_at (R15); a time it is
    # due at, kept out of the queue until then and offered ahead of it after (R16); a cancel.
    assignee = models.ForeignKey("supportcenter.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    assigned_at = models.DateTimeField(null=True, blank=True)
    scheduled_for = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.CharField(max_length=12, choices=CancelledBy.choices, blank=True, default="")
    cancel_reason = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["queue_entered_at"]
        constraints = [
            # C7: one pending callback per caller number per line.
            models.UniqueConstraint(
                fields=["line", "number"],
                condition=models.Q(state="pending"),
                name="talk_callback_one_pending_per_number",
            ),
        ]
        indexes = [
            models.Index(fields=["account", "state", "expires_at"], name="talk_callback_state"),
            models.Index(fields=["account", "requested_at"], name="talk_callback_requested"),
            models.Index(
                fields=["account", "started_at"], condition=Q(started_at__isnull=False), name="talk_callback_started"
            ),
            # Routing's and the router's next due time (pending ones), the dashboard's scheduled
            # callbacks of a day (any state: D5).
            models.Index(
                fields=["account", "scheduled_for"], condition=Q(scheduled_for__isnull=False),
                name="talk_callback_scheduled_any",
            ),
        ]


class WebhookReceipt(TenantModel):
    """The answer given to one provider request, so a retry gets it again (C10)."""

    key = models.CharField(max_length=64)
    response = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "key"], name="talk_webhook_receipt_unique")]


class CallbackAttempt(TenantModel):
    """One outbound call placed for a callback request (R5, R10): agent leg, then customer."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        CALLING_AGENT = "calling_agent", "Calling the agent"
        CALLING_CUSTOMER = "calling_customer", "Calling the customer"
        COMPLETED = "completed", "Completed"
        NO_ANSWER = "no_answer", "No answer"
        BUSY = "busy", "Busy"
        FAILED = "failed", "Failed"
        AGENT_UNREACHED = "agent_unreached", "Agent did not answer"

    request = models.ForeignKey(CallbackRequest, on_delete=models.CASCADE, related_name="attempts_made")
    number = models.PositiveSmallIntegerField(help_text="1 for the first attempt, 2 for the first retry, ...")
    agent = models.ForeignKey("supportcenter.User", on_delete=models.SET_NULL, null=True, related_name="+")
    provider_call_sid = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    scheduled_for = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    # The agent's own leg ended (its status callback, or it was never placed): the
    # agent is free of this attempt from then on (R1).
    agent_leg_ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["request", "number"]
        constraints = [
            models.UniqueConstraint(fields=["request", "number"], name="talk_callback_attempt_unique_number"),
        ]
        indexes = [
            models.Index(fields=["account", "status", "scheduled_for"], name="talk_attempt_due"),
            models.Index(fields=["account", "started_at"], name="talk_attempt_started"),
        ]
