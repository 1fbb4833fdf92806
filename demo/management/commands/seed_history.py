from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError
from django_scopes import scope

from demo.history import seed_history
from supportcenter.models import Account, Membership
from talk import services as talk_services
from talk.models import Line

DEFAULT_LINES = [("Main line", "+14155550100"), ("Sales", "+14155550177")]


class Command(BaseCommand):
    help = "Add realistic Talk history (calls, queue, callbacks with every outcome) to an account."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--account", required=True, help="The account's subdomain, e.g. acme.")
        parser.add_argument("--calls", type=int, required=True, help="How many calls to add.")
        parser.add_argument("--days", type=int, default=90, help="Spread over the last N local days (default 90).")
        parser.add_argument("--seed", type=int, default=None, help="Random seed, for a repeatable history.")

    def handle(self, *args, account: str, calls: int, days: int, seed: int | None, **options) -> None:
        if calls < 1 or days < 1:
            raise CommandError("--calls and --days must be at least 1.")
        target = Account.objects.filter(subdomain=account).first()
        if target is None:
            raise CommandError(f"No account {account!r} (run manage.py seed_demo first?).")
        with scope(account=target):
            lines = list(Line.objects.filter(account=target, kind=Line.Kind.PHONE))
            if not lines:
                talk_services.telephony_settings_ensure(account=target)
                for name, number in DEFAULT_LINES:
                    lines.append(talk_services.line_create(
                        account=target, actor=None, name=name, kind=Line.Kind.PHONE, number=number,
                        callback_enabled=True,
                    ))
            agents = list(
                Membership.objects.filter(account=target, is_active=True).values_list("user_id", flat=True)
            )
            if not agents:
                raise CommandError(f"Account {account!r} has no members to answer calls.")
            started = time.monotonic()
            rows = seed_history(account=target, lines=lines, agents=agents, calls=calls, days=days, seed=seed,
                                progress=self._progress(started))
        elapsed = time.monotonic() - started
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(
            f"Added {calls:,} calls ({rows:,} rows) to {account} in {elapsed:.1f} s over {days} days."
        ))

    def _progress(self, started: float):
        out = self.stdout

        def show(done: int, total: int) -> None:
            width = 30
            filled = width * done // total
            elapsed = max(time.monotonic() - started, 1e-6)
            rate = done / elapsed
            eta = (total - done) / rate if rate else 0
            out.write(
                f"\r[{'#' * filled}{'.' * (width - filled)}] {100 * done // total:3d}% "
                f"{done:,}/{total:,} calls  {rate:,.0f}/s  ETA {eta:,.0f} s",
                ending="",
            )
            out.flush()

        return show
