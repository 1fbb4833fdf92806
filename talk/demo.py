"""Talk's part of the demo seed (SPEC O1): lines that show the callback settings."""
from __future__ import annotations

from django_scopes import scope

from supportcenter.models import Account
from talk import services
from talk.models import Line

# (account, name, kind, fields)
DEMO_LINES = [
    ("acme", "Main line", Line.Kind.PHONE, {"number": "+14155550100", "callback_enabled": True}),
    # No outbound number: shows that callback is unavailable on such a SIP line (L4).
    ("acme", "Office SIP", Line.Kind.SIP, {"sip_address": "sip:support@pbx.acme.example"}),
    ("globex", "Tokyo support", Line.Kind.PHONE, {"number": "+81312345678", "callback_enabled": True}),
]


def seed_talk_demo(accounts: dict[str, Account]) -> None:
    """Create the demo lines once (by name); leave lines an admin changed alone. Idempotent."""
    for subdomain, name, kind, fields in DEMO_LINES:
        account = accounts.get(subdomain)
        if account is None:
            continue
        with scope(account=account):
            services.system_greetings_sync(account=account)
            services.telephony_settings_ensure(account=account)
            if Line.objects.filter(account=account, name=name).exists():
                continue
            services.line_create(account=account, actor=None, name=name, kind=kind, **fields)
