"""The demo seed (SPEC O1): the cast of DESIGN.md, account acme (alice admin, bob and
dave agents) and account globex (charlie admin), and Talk lines that show the
callback settings. Passwords are for development only."""
from __future__ import annotations

from django.db import transaction
from django_scopes import scope, scopes_disabled

from supportcenter import services
from supportcenter.models import Account, Membership, User
from talk import services as talk_services
from talk.models import Line

DEMO_PASSWORD = "demo-password-1"

ACCOUNTS = [
    {"subdomain": "acme", "name": "Acme Support", "time_zone": "America/New_York", "region": "US",
     "default_language": "en", "plan": Account.Plan.PROFESSIONAL},
    {"subdomain": "globex", "name": "Globex Helpdesk", "time_zone": "Asia/Tokyo", "region": "JP",
     "default_language": "ja", "plan": Account.Plan.TEAM},
]
PEOPLE = [
    ("acme", "alice@acme.test", "Alice Admin", Membership.Role.ADMIN),
    ("acme", "bob@acme.test", "Bob Agent", Membership.Role.AGENT),
    ("acme", "dave@acme.test", "Dave Agent", Membership.Role.AGENT),
    ("globex", "charlie@globex.test", "Charlie Admin", Membership.Role.ADMIN),
]
# (account, name, kind, fields)
DEMO_LINES = [
    # Callers say their name and reason after confirming (C14), so the demo shows it on the offer.
    ("acme", "Main line", Line.Kind.PHONE, {"number": "+14155550100", "callback_enabled": True,
                                            "callback_record_name": True}),
    # No outbound number: shows that callback is unavailable on such a SIP line (L4).
    ("acme", "Office SIP", Line.Kind.SIP, {"sip_address": "sip:support@pbx.acme.example"}),
    ("globex", "Tokyo support", Line.Kind.PHONE, {"number": "+81312345678", "callback_enabled": True}),
]


@transaction.atomic
def seed_demo() -> list[tuple[str, str, str]]:
    """Create or refresh the demo cast and lines; returns (account, email, role) rows. Idempotent."""
    rows = []
    with scopes_disabled():  # a cross-tenant job, by design
        accounts = {}
        for spec in ACCOUNTS:
            account, _ = Account.objects.update_or_create(
                subdomain=spec["subdomain"], defaults={k: v for k, v in spec.items() if k != "subdomain"}
            )
            accounts[account.subdomain] = account
        for subdomain, email, name, role in PEOPLE:
            user = User.objects.filter(email=email).first()
            if user is None:
                user = User.objects.create_user(email, DEMO_PASSWORD, name=name)
            account = accounts[subdomain]
            existing = Membership.objects.filter(account=account, user=user).first()
            if existing is None or existing.role != role or not existing.is_active:
                services.membership_grant(account=account, user=user, role=role)
            rows.append((subdomain, email, role))
        seed_demo_lines(accounts)
    return rows


def seed_demo_lines(accounts: dict[str, Account]) -> None:
    """Create the demo lines once (by name); leave lines an admin changed alone. Idempotent."""
    for subdomain, name, kind, fields in DEMO_LINES:
        account = accounts.get(subdomain)
        if account is None:
            continue
        with scope(account=account):
            talk_services.system_greetings_sync(account=account)
            talk_services.telephony_settings_ensure(account=account)
            if Line.objects.filter(account=account, name=name).exists():
                continue
            talk_services.line_create(account=account, actor=None, name=name, kind=kind, **fields)
