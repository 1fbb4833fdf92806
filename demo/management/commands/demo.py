"""One command for the embedded demo: migrate, seed, a task worker, the dialer and the server."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from supportcenter.logs import daphne_command_line


class Command(BaseCommand):
    help = "Run the demo: migrate, seed, start a django-q2 worker, the dialer and the ASGI server."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default=os.environ.get("SC_DEMO_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("SC_DEMO_PORT", "8000")))
        parser.add_argument("--no-worker", action="store_true", help="do not start the task worker and the dialer")

    def handle(self, *args, host: str, port: int, no_worker: bool, **options) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        call_command("seed_demo")
        worker = router = dialer = None
        # Where this server is, for what is written outside a request: the worker's simulated
        # calls back into it, the links of ticket notes (SPEC C14) written in this process too.
        public = os.environ.get("SC_PUBLIC_BASE_URL") or f"http://localhost:{port}"
        settings.PUBLIC_BASE_URL = public
        if not no_worker:
            env = {**os.environ, "SC_PUBLIC_BASE_URL": public}
            worker = subprocess.Popen([sys.executable, "manage.py", "tasks"], cwd=settings.BASE_DIR, env=env)
            # Provider calls (callback attempts, connecting live callers): talk.dialer. One
            # thread on SQLite, whose writers queue on one lock anyway.
            threads = "4" if settings.ROUTE_NOTIFY else "1"
            dialer = subprocess.Popen([sys.executable, "manage.py", "dialer", "--threads", threads],
                                      cwd=settings.BASE_DIR, env=env)
            if settings.ROUTE_NOTIFY:  # on PostgreSQL + Redis: a router process (talk.router)
                router = subprocess.Popen([sys.executable, "manage.py", "router"], cwd=settings.BASE_DIR, env=env)
        db = settings.DATABASES["default"]
        self.stdout.write(
            f"Database: {db['ENGINE'].rsplit('.', 1)[-1]}; channel layer: "
            f"{settings.CHANNEL_LAYERS['default']['BACKEND'].rsplit('.', 1)[-1]}; "
            f"task worker: {'django-q2 (pid %d)' % worker.pid if worker else 'off'}; "
            f"dialer: {'pid %d' % dialer.pid if dialer else 'off'}"
        )
        self.stdout.write(self.style.SUCCESS(
            f"Open http://acme.{settings.BASE_DOMAIN}:{port}/ and sign in as alice@acme.test"
        ))
        try:
            # daphne's command line, its access log showing webhook paths without their token.
            daphne_command_line().run(["-b", host, "-p", str(port), "supportcenter.asgi:application"])
        finally:
            for process in (router, dialer, worker):
                if process is not None and process.poll() is None:
                    process.send_signal(signal.SIGTERM)
                    try:
                        process.wait(timeout=10)
                    except subprocess.TimeoutExpired:
                        process.kill()
