"""Settings of the servers bench/webhooks.py starts: the product's, production-like,
plus the bench URLconf (one bare reference view). Secrets come from the bench's
subprocess environment (bench-only values, nothing real)."""
from __future__ import annotations

import os

from supportcenter.settings import *  # noqa: F401,F403
from supportcenter.settings import BASE_DOMAIN

ROOT_URLCONF = "bench.bench_urls"
DEBUG = False
# The bench addresses webhooks to the bare base domain, as the provider does (SPEC T5).
ALLOWED_HOSTS = [BASE_DOMAIN, f".{BASE_DOMAIN}", "127.0.0.1", "localhost"]

# Instrumentation, only when the bench asks (SC_BENCH_CONN_DIR): every new database connection
# a server process opens (not a pool's checkout of one it has) appends one byte to <dir>/<pid>, so the bench counts connections
# per request exactly (other users of sc_bench do not count). A few microseconds each.
_CONN_DIR = os.environ.get("SC_BENCH_CONN_DIR", "")
if _CONN_DIR:
    from django.db.backends.signals import connection_created

    _counter_file: dict[int, int] = {}

    _seen: set[int] = set()  # with a pool, connection_created fires per checkout: count new ones

    def _count_connection(sender, connection, **kwargs) -> None:
        raw = connection.connection
        if id(raw) in _seen:
            return
        _seen.add(id(raw))
        pid = os.getpid()
        fd = _counter_file.get(pid)
        if fd is None:  # per process: gunicorn's workers import settings after the fork, but be sure
            fd = _counter_file[pid] = os.open(os.path.join(_CONN_DIR, str(pid)), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        os.write(fd, b"c")

    connection_created.connect(_count_connection, weak=False, dispatch_uid="bench-connection-counter")
