"""Admin-center forms of the core. They only parse input; the rules (a name taken, a user
who is not a member) live in supportcenter.services, so a page and the API refuse a value
with the same words."""
from __future__ import annotations

from django import forms

from supportcenter.errors import ServiceError
from supportcenter.models import Group, Membership

CHOOSE_MEMBER_MESSAGE = "Choose an agent or admin to add."


def add_service_error(form: forms.Form, error: ServiceError) -> None:
    """Show a service refusal next to its field, or above the form."""
    form.add_error(error.field if error.field in form.fields else None, error.message)


class GroupForm(forms.Form):
    # Not required here: the service says "Give the group a name." (one message, one place).
    name = forms.CharField(required=False, label="Name")
    description = forms.CharField(
        required=False, label="Description", widget=forms.Textarea(attrs={"rows": 2}),
        help_text="What the group is for, in a few words.",
    )
    default = forms.BooleanField(
        required=False, label="Default group of the account",
        help_text="One group at most: marking this one unmarks the current default.",
    )

    @staticmethod
    def initial_from(group: Group) -> dict:
        return {"name": group.name, "description": group.description, "default": group.is_default}


class GroupMemberForm(forms.Form):
    """Add one person to a group; the choices are the account's members not in it yet."""

    user = forms.CharField(required=False, label="Add a member")

    def __init__(self, *args, candidates: list[Membership], **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", "Choose an agent or admin")] + [
            (str(m.user_id), f"{m.user.name} ({m.get_role_display().lower()})") for m in candidates
        ]
        self.fields["user"].widget = forms.Select(choices=choices)

    def clean_user(self) -> int:
        """The chosen user's id; an id of no member is the service's to refuse."""
        value = (self.cleaned_data.get("user") or "").strip()
        if not value:
            raise forms.ValidationError(CHOOSE_MEMBER_MESSAGE)
        return int(value) if value.isdigit() and len(value) < 19 else 0
