"""``python manage.py dialer``: make the provider calls Talk's jobs ask for (talk.dialer).

Run one or more next to the web processes (the embedded demo starts one). SIGTERM or
SIGINT stop it once the calls in progress are made.
"""
from __future__ import annotations

import signal

from django.core.management.base import BaseCommand

from talk.dialer import Dialer


class Command(BaseCommand):
    help = "Place callback attempts and connect live callers, oldest job first."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--threads", type=int, default=4, help="provider calls in flight at once (default 4)")

    def handle(self, *args, threads: int, **options) -> None:
        dialer = Dialer(threads=max(1, threads))
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: dialer.shutdown())
        self.stdout.write(f"dialer running ({dialer.threads} threads)")
        dialer.run()
        self.stdout.write("dialer stopped")
