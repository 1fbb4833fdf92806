"""Talk's part of the demo seed (SPEC O1)."""
from __future__ import annotations

import io

from django.core.management import call_command
from django_scopes import scope, scopes_disabled

from supportcenter.models import Account
from talk import selectors
from talk.models import Line


def test_the_demo_has_talk_lines_and_stays_idempotent(db):  # SPEC O1, L1, L4
    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())
    with scopes_disabled():
        acme = Account.objects.get(subdomain="acme")
        globex = Account.objects.get(subdomain="globex")
    with scope(account=acme):
        main = Line.objects.get(account=acme, name="Main line")
        sip = Line.objects.get(account=acme, name="Office SIP")
        assert Line.objects.filter(account=acme).count() == 2
        assert main.callback_enabled and main.number.as_e164 == "+14155550100"
        assert main.callback_greeting.is_system and main.callback_confirmation_greeting.is_system
        assert selectors.line_callback_supported(main) == (True, "")
        assert selectors.line_callback_supported(sip) == (False, selectors.lines.CALLBACK_OFF_REASON)
        assert sip.outbound_number == ""
        assert selectors.telephony_settings_get(account=acme).provider == "simulator"
    with scope(account=globex):
        tokyo = Line.objects.get(account=globex)
        # globex speaks Japanese: its lines start with the Japanese callback messages.
        assert tokyo.callback_greeting.language == "ja"
        assert selectors.effective_callback_language(tokyo) == "ja"
