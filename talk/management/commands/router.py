"""``python manage.py router``: route on events and deadlines (SPEC O4; talk.router).

Run one or more next to the web processes in production (``SC_ROUTE_NOTIFY``, on by
default with PostgreSQL and Redis). SIGTERM or SIGINT stop it after the current pass.
"""
from __future__ import annotations

import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from talk.router import Router


class Command(BaseCommand):
    help = "Route Talk's queues when told (PostgreSQL NOTIFY) and at each deadline."

    def handle(self, *args, **options) -> None:
        if not settings.ROUTE_NOTIFY:
            raise CommandError("Routers serve SC_ROUTE_NOTIFY=true (PostgreSQL); without it the task workers route.")
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        self.stdout.write("router listening")
        Router().run(stop)
        self.stdout.write("router stopped")
