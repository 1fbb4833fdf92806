"""The processes under test of the fault drills (bench/faults/common.py): web processes,
routers, dialers and task clusters, each started in a session (process group) of its own with
the production settings on the private services, its output in ``/tmp/faults-logs``; killed
or stopped; and the tracebacks in their logs, summarised. ``stop_all`` (called in every drill's
``finally``) ends exactly the processes started here."""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench import webhooks as wh
from bench.faults.services import LOG_DIR, SERVER_ENV
from bench.webhook_setup import SERVER_COMMANDS

ROOT = Path(__file__).resolve().parents[2]

PYTHON = sys.executable


# --- processes under test -------------------------------------------------------------
class Proc:
    def __init__(self, name: str, popen: subprocess.Popen, log_path: Path) -> None:
        self.name, self.popen, self.log = name, popen, log_path
        self.port: int | None = None

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""


_procs: list[Proc] = []
_counter = [0]


def spawn(name: str, args: list[str], env: dict[str, str] | None = None) -> Proc:
    LOG_DIR.mkdir(exist_ok=True)
    _counter[0] += 1
    path = LOG_DIR / f"{name}-{os.getpid()}-{_counter[0]}.log"
    with path.open("wb") as out:
        popen = subprocess.Popen(args, cwd=ROOT, env={**os.environ, **SERVER_ENV, **(env or {})},
                                 stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    proc = Proc(name, popen, path)
    _procs.append(proc)
    return proc


def spawn_web(name: str = "daphne") -> Proc:
    port = wh.free_port()
    proc = spawn(name, SERVER_COMMANDS["daphne"](port))
    proc.port = port
    wh.wait_ready(proc.popen, port, proc.log)
    return proc


def spawn_router(name: str = "router") -> Proc:
    proc = spawn(name, [PYTHON, "manage.py", "router"])
    wait_for_text(proc, "router listening")
    return proc


def spawn_dialer(carrier_log: Path, *, name: str = "dialer", refuse: int = 0, provider_ms: float = 100,
                 threads: int = 4) -> Proc:
    proc = spawn(name, [PYTHON, "-m", "bench.faults.dialer_proc", "--log", str(carrier_log), "--refuse", str(refuse),
                        "--provider-ms", str(provider_ms), "--threads", str(threads)])
    wait_for_text(proc, "dialer listening")
    return proc


def wait_for_text(proc: Proc, text: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while text not in proc.text():
        if not proc.alive():
            raise RuntimeError(f"{proc.name} exited ({proc.popen.returncode}): {proc.text()[-1500:]}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{proc.name} not ready in {timeout:.0f} s: {proc.text()[-1500:]}")
        time.sleep(0.1)
    time.sleep(0.3)  # listening: the LISTEN ran just before the line was printed


def kill9(proc: Proc) -> None:
    """kill -9 the process (and anything in its process group)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.popen.wait(timeout=10)


def stop_proc(proc: Proc, timeout: float = 15) -> None:
    if proc.popen.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
    with contextlib.suppress(ProcessLookupError):  # anything left in its group (workers, children)
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.popen.wait(timeout=5)


def stop_all() -> None:
    while _procs:
        stop_proc(_procs.pop())


TRACEBACK = "Traceback (most recent call last):"


def tracebacks(text: str) -> list[str]:
    """Each failure logged with a traceback (chained tracebacks are one failure), summarised:
    the message logged with it, the first frame and the final error."""
    out = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].strip() != TRACEBACK:
            i += 1
            continue
        before = lines[i - 1].strip() if i else ""
        frame = lines[i + 1].strip() if i + 1 < len(lines) else ""
        error, j = "", i + 1
        while j < len(lines):  # to the end of the last chained traceback
            line = lines[j]
            if line.strip() == TRACEBACK or line.startswith((" ", "\t")) or not line.strip():
                j += 1
                continue
            if line.startswith(("During handling of the above exception", "The above exception was the direct")):
                j += 1
                continue
            if lines[j - 1].startswith((" ", "\t")) or lines[j - 1].strip() == TRACEBACK:
                error = line.strip()  # an exception line closes a traceback; a chained one may follow
                j += 1
                if j + 1 < len(lines) and not lines[j].strip() and lines[j + 1].startswith(("During handling", "The above")):
                    continue
                break
            break
        ours = [line.strip() for line in lines[i:j] if line.strip().startswith(f'File "{ROOT}/')
                and "/.venv/" not in line]
        inner = [line for line in ours if not line.endswith("in __call__")]  # past the middleware
        where = ((inner or ours or [frame])[-1]).replace(f'File "{ROOT}/', 'File "')
        out.append(f"{before[:100]} | {where[:120]} | {error[:140]}")
        i = j
    return out


def summarise(items: list[str], limit: int = 2) -> str:
    counts: dict[str, int] = {}
    for item in items:
        counts[item] = counts.get(item, 0) + 1
    parts = [f"{text} (×{n})" if n > 1 else text for text, n in list(counts.items())[:limit]]
    more = len(counts) - limit
    return "; ".join(parts) + (f"; and {more} more kinds" if more > 0 else "")
