"""``python manage.py tasks``: the django-q2 task cluster (housekeeping), stopped in bounded time.

django-q2's own ``qcluster`` can hang for minutes when SIGTERM reaches its whole process
group at once (as a service manager sends it): its workers die at once and its sentinel
waits for queues nobody drains. This runs the same cluster and, on SIGTERM or SIGINT, asks
it to stop, then ends whatever is left once the cluster's own timeout has passed.
"""
from __future__ import annotations

import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand
from django_q.cluster import Cluster


class Command(BaseCommand):
    help = "Run the task cluster (django-q2); SIGTERM stops it within Q_CLUSTER['timeout'] seconds."

    def handle(self, *args, **options) -> None:
        cluster = Cluster()
        stop = threading.Event()
        cluster.start()
        for sig in (signal.SIGTERM, signal.SIGINT):  # after start: the cluster set its own handlers
            signal.signal(sig, lambda *_: stop.set())
        while not stop.wait(1.0):
            if not cluster.sentinel.is_alive():
                return  # the cluster ended by itself
        stopping = threading.Thread(target=cluster.stop, daemon=True)
        stopping.start()
        # A task still running gets most of the cluster's timeout; then whatever is left ends,
        # so the whole stop stays within that timeout.
        stopping.join(timeout=max(1, settings.Q_CLUSTER.get("timeout", 60) - 10))
        if cluster.sentinel.is_alive():
            self.stderr.write("the task cluster did not stop in time; ending it")
            cluster.sentinel.kill()
            cluster.sentinel.join(5)
