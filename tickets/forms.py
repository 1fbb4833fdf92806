"""Forms of the agent pages. They parse; the services decide (and refuse)."""
from __future__ import annotations

from django import forms

from supportcenter.models import Membership
from tickets.models import Ticket, TicketStatus
from tickets.selectors import UNASSIGNED

NOTHING_TO_UPDATE_MESSAGE = "Nothing to save: write a comment, or change the status or the assignee."
ME = "me"


def _member_choices(members: list[Membership]) -> list[tuple[str, str]]:
    return [(str(m.user_id), m.user.name or m.user.email) for m in members]


class TicketFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Search",
                        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Subject, phone, requester or #number"}))
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *TicketStatus.choices])
    assignee = forms.ChoiceField(required=False)

    def __init__(self, *args, members: list[Membership], **kwargs):
        super().__init__(*args, **kwargs)
        self.members = {str(m.user_id): m.user for m in members}
        self.fields["assignee"].choices = [
            ("", "Anyone"), (ME, "Me"), (UNASSIGNED, "Unassigned"), *_member_choices(members)
        ]

    def assignee_filter(self, me):
        value = self.cleaned_data.get("assignee") or ""
        if value == ME:
            return me
        if value == UNASSIGNED:
            return UNASSIGNED
        return self.members.get(value)


class TicketUpdateForm(forms.Form):
    """The composer of a ticket page: a comment, and the ticket's status and assignee."""

    body = forms.CharField(required=False, label="Comment", max_length=65_000,
                           widget=forms.Textarea(attrs={"rows": 5, "placeholder": "Write a reply or an internal note"}))
    public = forms.TypedChoiceField(
        choices=[("true", "Public reply"), ("false", "Internal note")],
        coerce=lambda value: value == "true",
        initial="true",
        widget=forms.RadioSelect,
        label="Comment type",
    )
    status = forms.ChoiceField(choices=TicketStatus.choices)
    assignee = forms.ChoiceField(required=False)

    def __init__(self, *args, ticket: Ticket, members: list[Membership], **kwargs):
        kwargs.setdefault("initial", {})
        kwargs["initial"].update({"status": ticket.status, "assignee": str(ticket.assignee_id or "")})
        super().__init__(*args, **kwargs)
        self.ticket = ticket
        self.members = {str(m.user_id): m.user for m in members}
        # New is where tickets start; once opened they never go back (services refuse it too).
        statuses = TicketStatus.choices if ticket.status == TicketStatus.NEW else [
            c for c in TicketStatus.choices if c[0] != TicketStatus.NEW
        ]
        self.fields["status"].choices = statuses
        choices = [("", "Unassigned"), *_member_choices(members)]
        if ticket.assignee_id and str(ticket.assignee_id) not in self.members:
            # A former member still holds it: show them rather than silently unassigning.
            choices.append((str(ticket.assignee_id), f"{ticket.assignee} (no longer a member)"))
        self.fields["assignee"].choices = choices

    def clean(self):
        data = super().clean()
        body = (data.get("body") or "").strip()
        data["body"] = body
        status_changed = data.get("status") not in (None, self.ticket.status)
        assignee_changed = (data.get("assignee") or "") != str(self.ticket.assignee_id or "")
        if not body and not status_changed and not assignee_changed and not self.errors:
            raise forms.ValidationError(NOTHING_TO_UPDATE_MESSAGE, code="nothing")
        data["status_changed"] = status_changed
        data["assignee_changed"] = assignee_changed
        return data

    def assignee_user(self):
        value = self.cleaned_data.get("assignee") or ""
        if not value:
            return None
        if value == str(self.ticket.assignee_id):
            return self.ticket.assignee
        return self.members[value]


class TicketCreateForm(forms.Form):
    subject = forms.CharField(max_length=255)
    name = forms.CharField(required=False, max_length=200, label="Requester name")
    phone = forms.CharField(required=False, max_length=64, label="Requester phone",
                            widget=forms.TextInput(attrs={"type": "tel", "placeholder": "+1 415 555 0123"}))
    email = forms.EmailField(required=False, label="Requester email")
    description = forms.CharField(required=False, max_length=65_000, label="Description (public)",
                                  widget=forms.Textarea(attrs={"rows": 5}))
    assignee = forms.ChoiceField(required=False)

    def __init__(self, *args, members: list[Membership], **kwargs):
        super().__init__(*args, **kwargs)
        self.members = {str(m.user_id): m.user for m in members}
        self.fields["assignee"].choices = [("", "Unassigned"), *_member_choices(members)]

    def assignee_user(self):
        return self.members.get(self.cleaned_data.get("assignee") or "")
