"""The demo cast (DESIGN.md): account acme (alice admin, bob and dave agents) and
account globex (charlie admin). Passwords are for development only."""
from __future__ import annotations

from django.db import transaction
from django_scopes import scopes_disabled

from supportcenter import services
from supportcenter.models import Account, Membership, User

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


@transaction.atomic
def seed_demo() -> list[tuple[str, str, str]]:
    """Create or refresh the demo cast; returns (account, email, role) rows. Idempotent."""
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
        from talk.demo import seed_talk_demo  # talk builds on the core: imported here, not at the top

        seed_talk_demo(accounts)
    return rows
