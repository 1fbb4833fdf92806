"""The fault drills' private PostgreSQL and Redis, and the environment that points this
process and every process it starts at them (bench/faults/common.py).

A PostgreSQL cluster in ``/tmp/faults-pg`` on port 5433 (run as the ``postgres`` user: initdb
refuses root) and a ``redis-server`` on port 6380, both on 127.0.0.1, started and stopped
here. The shared PostgreSQL (5432) and Redis (6379) are never touched: importing this module
sets ``DATABASE_URL`` and ``REDIS_URL`` of this process to the private ones.
"""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

from bench import webhook_setup  # first: it sets this process's environment to the servers', overridden below

PG_PORT = 5433
PG_DIR = Path("/tmp/faults-pg")
PG_LOG = Path("/tmp/faults-pg.log")
PG_SOCKET_DIR = "/tmp"
REDIS_PORT = 6380
DB_NAME = "sc_faults"
DATABASE_URL = f"postgres://postgres@127.0.0.1:{PG_PORT}/{DB_NAME}"
REDIS_URL = f"redis://127.0.0.1:{REDIS_PORT}/0"
LOG_DIR = Path("/tmp/faults-logs")

# This process and every process it starts: the private services, never the shared ones.
PRIVATE_ENV = {"DATABASE_URL": DATABASE_URL, "REDIS_URL": REDIS_URL, "SC_CHANNELS_PREFIX": "faults"}
os.environ.update(PRIVATE_ENV)
SERVER_ENV = {**webhook_setup.SERVER_ENV, **PRIVATE_ENV, "SC_DB_POOL": "true"}
# Not this process: it plays a dozen agents, each a thread holding its own connection for
# the whole drill, more than the production pool's 12 (the thirteenth thread waited for one
# until the drill ended, and its offer looked lost).
os.environ["SC_DB_POOL"] = "false"


# --- the private services -------------------------------------------------------------
def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError(f"no {name} under /usr/lib/postgresql")
    return found[-1]


def _as_postgres(args: list[str], timeout: float = 60) -> subprocess.CompletedProcess:
    command = ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd="/tmp", check=False)


class PrivatePostgres:
    """The drills' own cluster: initdb on first use, started and stopped here."""

    def __init__(self) -> None:
        self.started = False

    def _ctl(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        done = _as_postgres([_pg_bin("pg_ctl"), "-D", str(PG_DIR), *args], timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"pg_ctl {' '.join(args)}: {done.stdout.strip()} {done.stderr.strip()}")
        return done

    def start(self) -> None:
        if port_open(PG_PORT):
            raise RuntimeError(f"port {PG_PORT} is already in use (not by these drills): refusing to touch it")
        if not (PG_DIR / "PG_VERSION").exists():
            shutil.rmtree(PG_DIR, ignore_errors=True)
            PG_DIR.mkdir(parents=True)
            shutil.chown(PG_DIR, "postgres", "postgres")
            done = _as_postgres([_pg_bin("initdb"), "-D", str(PG_DIR), "-U", "postgres", "--auth=trust"], timeout=120)
            if done.returncode != 0:
                raise RuntimeError(f"initdb: {done.stderr.strip()}")
        PG_LOG.touch()
        shutil.chown(PG_LOG, "postgres", "postgres")
        self._ctl("-o", f"-p {PG_PORT} -k {PG_SOCKET_DIR} -c listen_addresses=127.0.0.1", "-l", str(PG_LOG),
                  "-w", "start")
        self.started = True
        done = subprocess.run(["createdb", "-h", "127.0.0.1", "-p", str(PG_PORT), "-U", "postgres", DB_NAME],
                              capture_output=True, text=True, check=False)
        if done.returncode != 0 and "already exists" not in done.stderr:
            raise RuntimeError(f"createdb: {done.stderr.strip()}")

    def restart(self) -> None:
        """``pg_ctl restart -m fast``: every connection is cut, the server is back when it returns."""
        self._ctl("-m", "fast", "-w", "restart", "-l", str(PG_LOG))

    def stop(self) -> None:
        if self.started and (PG_DIR / "postmaster.pid").exists():
            self._ctl("-m", "fast", "-w", "stop")
        self.started = False


class PrivateRedis:
    """``redis-server --port 6380`` as a subprocess of this process (no persistence)."""

    def __init__(self) -> None:
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        if port_open(REDIS_PORT):
            raise RuntimeError(f"port {REDIS_PORT} is already in use (not by these drills): refusing to touch it")
        LOG_DIR.mkdir(exist_ok=True)
        out = open(LOG_DIR / "redis-6380.log", "ab")
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(REDIS_PORT), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--daemonize", "no"], stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 10
        while not port_open(REDIS_PORT):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the private redis-server did not start (see /tmp/faults-logs/redis-6380.log)")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


POSTGRES = PrivatePostgres()
REDIS = PrivateRedis()
