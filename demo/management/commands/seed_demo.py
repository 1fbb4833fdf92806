from __future__ import annotations

from django.core.management.base import BaseCommand

from demo.seeding import DEMO_PASSWORD, seed_demo


class Command(BaseCommand):
    help = "Create the demo accounts acme and globex with their people (idempotent)."

    def handle(self, *args, **options) -> None:
        rows = seed_demo()
        self.stdout.write(self.style.SUCCESS("Demo accounts ready (development passwords):"))
        for subdomain, email, role in rows:
            self.stdout.write(f"  {subdomain:<8} {role:<6} {email:<22} {DEMO_PASSWORD}")
