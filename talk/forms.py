"""Admin-center forms. They only parse input; every rule lives in talk.services,
so a refused value gets the same message on a page as through the API."""
from __future__ import annotations

from typing import Any

from django import forms

from supportcenter.errors import ServiceError
from supportcenter.models import LANGUAGE_CHOICES, Account
from supportcenter.selectors import group_list
from talk import selectors
from talk.selectors.lines import line_group_ids
from talk.models import Greeting, Line, TelephonySettings
from talk.models.greetings import VOICE_LANGUAGE_CHOICES
from talk.services.lines import CALLBACK_KEYS
from talk.services.telephony import RECORDING_RETENTION_MESSAGE
from talk.voices import LANGUAGE_NAMES, has_voice, voice_choices


def add_service_error(form: forms.Form, error: ServiceError) -> None:
    """Show a service refusal next to its field, or above the form."""
    field = error.field if error.field in form.fields and not form.fields[error.field].disabled else None
    form.add_error(field, error.message)


def _greeting_choices(account: Account, category: str) -> list[tuple[str, str]]:
    greetings = selectors.greeting_list(account=account, category=category)
    return [(str(g.pk), f"{g.name}{'' if g.is_system else ' (custom)'}") for g in greetings]


class AnyIdsField(forms.MultipleChoiceField):
    """Several ids, passed on as posted: the service decides which are acceptable (one path,
    one message), so a stale or foreign id gets the service's words, not a generic one."""

    def valid_value(self, value: str) -> bool:
        return True


def _group_choices(account: Account) -> list[tuple[str, str]]:
    return [(str(group.pk), group.name) for group in group_list(account=account).order_by("name")]


def _select(choices: list[tuple[str, str]], **attrs) -> forms.CharField:
    # A CharField, not a ChoiceField: the service decides what is acceptable (one path).
    return forms.CharField(required=False, widget=forms.Select(choices=choices, attrs=attrs))


class LineGeneralForm(forms.Form):
    name = forms.CharField(max_length=100, required=False)
    kind = forms.ChoiceField(choices=Line.Kind.choices, widget=forms.RadioSelect)
    number = forms.CharField(required=False, label="Phone number", help_text="International form, e.g. +1 415 555 0100.")
    sip_address = forms.CharField(required=False, label="SIP address", help_text="sip:user@host")
    outbound_number = forms.CharField(
        required=False, label="Outbound number", help_text="SIP lines dial callbacks from this number."
    )
    enabled = forms.BooleanField(required=False, label="Line enabled")
    welcome_greeting = forms.CharField(required=False, label="Welcome greeting")
    hold_greeting = forms.CharField(required=False, label="Hold greeting")
    call_offer_seconds = forms.IntegerField(label="Call offer time (seconds)", help_text="How long a live call rings one agent before the next.")
    groups = AnyIdsField(
        required=False, label="Groups", widget=forms.CheckboxSelectMultiple,
        help_text="The line's calls and callbacks are offered to agents of these groups only. None: to every agent.",
    )
    default_group = forms.CharField(
        required=False, label="Default group", help_text="Always one of the line's groups: choosing it here adds it."
    )

    def __init__(self, *args, account: Account, line: Line | None = None, **kwargs):
        if line is not None:
            kwargs.setdefault("initial", self.initial_from(line))
        else:
            kwargs.setdefault("initial", {"kind": Line.Kind.PHONE, "enabled": True, "call_offer_seconds": 30})
        super().__init__(*args, **kwargs)
        self.line = line
        for slot, category in (("welcome_greeting", Greeting.Category.WELCOME), ("hold_greeting", Greeting.Category.HOLD)):
            self.fields[slot].widget = forms.Select(choices=[("", "System default")] + _greeting_choices(account, category))
        groups = _group_choices(account)
        self.fields["groups"].choices = groups
        self.fields["default_group"].widget = forms.Select(choices=[("", "None")] + groups)
        if line is not None:
            self.fields["kind"].disabled = True  # a line's kind cannot change

    @staticmethod
    def initial_from(line: Line) -> dict[str, Any]:
        return {
            "name": line.name,
            "kind": line.kind,
            "number": line.number.as_international if line.number else "",
            "sip_address": line.sip_address,
            "outbound_number": line.outbound_number.as_international if line.outbound_number else "",
            "enabled": line.enabled,
            "welcome_greeting": str(line.welcome_greeting_id or ""),
            "hold_greeting": str(line.hold_greeting_id or ""),
            "call_offer_seconds": line.call_offer_seconds,
            "groups": [str(pk) for pk in line_group_ids(line)],
            "default_group": str(line.default_group_id or ""),
        }

    def changes(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        if self.line is not None:
            data.pop("kind")
        for slot in ("welcome_greeting", "hold_greeting", "default_group"):
            data[slot] = data[slot] or None
        return data


class CallbackForm(forms.Form):
    """The Callback tab: exactly the seed's fields, then the Advanced section (L2, L7)."""

    callback_enabled = forms.BooleanField(required=False, label="Callback")
    callback_language = forms.CharField(required=False, label="Language")
    callback_greeting = forms.CharField(required=False, label="Callback message")
    callback_confirmation_greeting = forms.CharField(required=False, label="Callback confirmation message")
    # Advanced (L7)
    callback_offer_seconds = forms.IntegerField(label="Callback offer time per agent (seconds)")
    callback_expiry_minutes = forms.IntegerField(label="Request expiry (minutes)")
    callback_key = forms.CharField(required=False, label="Callback key")
    callback_offer_in_greeting = forms.BooleanField(required=False, label="Offer callback in the welcome greeting")
    callback_offer_while_queued = forms.BooleanField(required=False, label="Offer callback while the caller is queued")
    callback_caller_id_policy = forms.CharField(required=False, label="Call customers back from")
    callback_outbound_caller_id = forms.CharField(required=False, label="Account number")
    callback_retry_attempts = forms.IntegerField(label="Retries when the customer does not answer")
    callback_retry_interval_minutes = forms.IntegerField(label="Minutes between retries")
    callback_capture_on_first_key = forms.BooleanField(required=False, label="Capture on first key")
    announce_queue_position = forms.BooleanField(
        required=False, label="Tell queued callers their position and estimated wait"
    )
    callback_record_name = forms.BooleanField(  # SPEC C14
        required=False, label="Ask callers to record their name and reason after confirming"
    )

    SEED_FIELDS = ("callback_enabled", "callback_language", "callback_greeting", "callback_confirmation_greeting")

    def __init__(self, *args, account: Account, line: Line, **kwargs):
        kwargs.setdefault("initial", self.initial_from(line))
        super().__init__(*args, **kwargs)
        default = account.default_language
        default_label = f"Account default ({LANGUAGE_NAMES.get(default, default)}"
        default_label += ")" if has_voice(default) else ", plays in English)"
        languages = [("", default_label)] + [
            (code, name if has_voice(code) else f"{name} (no voice: plays in English)") for code, name in LANGUAGE_CHOICES
        ]
        self.fields["callback_language"].widget = forms.Select(choices=languages)
        self.fields["callback_greeting"].widget = forms.Select(
            choices=_greeting_choices(account, Greeting.Category.CALLBACK)
        )
        self.fields["callback_confirmation_greeting"].widget = forms.Select(
            choices=_greeting_choices(account, Greeting.Category.CALLBACK_CONFIRMATION)
        )
        self.fields["callback_key"].widget = forms.Select(choices=[(k, k) for k in sorted(CALLBACK_KEYS)])
        self.fields["callback_caller_id_policy"].widget = forms.RadioSelect(choices=Line.CallerIdPolicy.choices)
        others = selectors.line_list(account=account).filter(kind=Line.Kind.PHONE).exclude(pk=line.pk)
        self.fields["callback_outbound_caller_id"].widget = forms.Select(
            choices=[("", "—")] + [(o.number.as_e164, f"{o.number.as_international} · {o.name}") for o in others]
        )

    @staticmethod
    def initial_from(line: Line) -> dict[str, Any]:
        slots = ("callback_greeting", "callback_confirmation_greeting")
        initial = {name: getattr(line, name) for name in CallbackForm.base_fields if name not in slots}
        initial["callback_greeting"] = str(line.callback_greeting_id or "")
        initial["callback_confirmation_greeting"] = str(line.callback_confirmation_greeting_id or "")
        initial["callback_outbound_caller_id"] = (
            line.callback_outbound_caller_id.as_e164 if line.callback_outbound_caller_id else ""
        )
        return initial

    @property
    def seed_fields(self):
        return [self[name] for name in self.SEED_FIELDS]

    def changes(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        for slot in ("callback_greeting", "callback_confirmation_greeting"):
            data[slot] = data[slot] or None
        return data


class GreetingForm(forms.Form):
    name = forms.CharField(max_length=120, required=False)
    category = forms.CharField(required=False, widget=forms.Select(choices=Greeting.Category.choices))
    language = forms.CharField(required=False, widget=forms.Select(choices=VOICE_LANGUAGE_CHOICES))
    voice = forms.CharField(
        required=False, widget=forms.Select(choices=[("", "Default voice of the language")] + voice_choices())
    )
    text = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        label="Text to speak",
        help_text="Write {key} where the line's callback key should be said.",
    )
    audio_url = forms.CharField(required=False, label="Or: audio URL (https)")

    @staticmethod
    def initial_from(greeting: Greeting) -> dict[str, Any]:
        return {f: getattr(greeting, f) for f in ("name", "category", "language", "voice", "text", "audio_url")}


class TelephonySettingsForm(forms.Form):
    provider = forms.CharField(widget=forms.RadioSelect(choices=TelephonySettings.Provider.choices))
    twilio_account_sid = forms.CharField(required=False, label="Twilio account SID")
    twilio_auth_token = forms.CharField(
        required=False,
        label="Twilio auth token",
        # Write-only: never rendered back, not even masked (render_value=False).
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Leave blank to keep the stored token.",
    )
    # SPEC C14. Not required, so a client that does not post it keeps the stored value; a
    # browser always posts it (it is shown filled in), and a field left blank is refused.
    recording_retention_days = forms.IntegerField(
        required=False,
        label="Keep callers' recordings for (days)",
        error_messages={"invalid": RECORDING_RETENTION_MESSAGE},
        help_text="Counted from the end of the recording's callback request; then it is deleted.",
    )

    @staticmethod
    def initial_from(row: TelephonySettings) -> dict[str, Any]:
        return {
            "provider": row.provider,
            "twilio_account_sid": row.twilio_account_sid,
            "recording_retention_days": row.recording_retention_days,
        }

    def clean_recording_retention_days(self) -> int | None:
        days = self.cleaned_data["recording_retention_days"]
        if days is None and self.add_prefix("recording_retention_days") in self.data:
            # Posted blank: say so, rather than keep the stored value without a word.
            raise forms.ValidationError(RECORDING_RETENTION_MESSAGE)
        return days
