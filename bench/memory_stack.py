"""The memory bench's stack (bench/memory.py): web, router, dialer and worker, each started in
a process group of its own with the webhook bench's production settings, waited for, stopped,
their logs checked; and the samples of their memory (RSS and USS over each process tree)."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from bench import webhooks as wh
from bench.webhook_setup import SERVER_COMMANDS, SERVER_ENV

ROOT = Path(__file__).resolve().parent.parent

BIN = Path(sys.executable).parent
KINDS = ("web", "router", "dialer", "worker")


# --- the stack ----------------------------------------------------------------------
def commands(port: int) -> dict[str, list[str]]:
    python = str(BIN / "python")
    return {
        "web": SERVER_COMMANDS["daphne"](port),
        "router": [python, "manage.py", "router"],
        "dialer": [python, "bench/drain_worker.py", "dialer", "--provider-ms", "0"],
        "worker": [python, "manage.py", "qcluster"],
    }


READY_TEXT = {"router": "router listening", "worker": "running"}


@dataclass
class Proc:
    kind: str
    popen: subprocess.Popen
    log: Path


def start_stack(port: int) -> dict[str, Proc]:
    env = {**os.environ, **SERVER_ENV}
    env.pop("SC_BENCH_CONN_DIR", None)
    procs: dict[str, Proc] = {}
    try:
        for kind, command in commands(port).items():
            log = Path(tempfile.mkstemp(prefix=f"bench-memory-{kind}-", suffix=".log")[1])
            with log.open("w") as out:
                popen = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)
            procs[kind] = Proc(kind, popen, log)
        wh.wait_ready(procs["web"].popen, port, procs["web"].log)
        deadline = time.monotonic() + 60
        for kind in ("router", "dialer", "worker"):
            proc = procs[kind]
            while True:
                if proc.popen.poll() is not None:
                    raise RuntimeError(f"{kind} exited ({proc.popen.returncode}):\n{proc.log.read_text()[-2000:]}")
                text = READY_TEXT.get(kind)
                if text is None or text in proc.log.read_text():
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{kind} not ready in 60 s:\n{proc.log.read_text()[-2000:]}")
                time.sleep(0.3)
        time.sleep(2.0)  # the dialer has no banner: it must still be up after its start
        for proc in procs.values():
            if proc.popen.poll() is not None:
                raise RuntimeError(f"{proc.kind} exited ({proc.popen.returncode}):\n{proc.log.read_text()[-2000:]}")
    except BaseException:
        stop_stack(procs)
        raise
    return procs


def stop_stack(procs: dict[str, Proc]) -> None:
    for proc in procs.values():
        wh.stop(proc.popen)  # SIGTERM to its process group, SIGKILL after 10 s


def log_problems(procs: dict[str, Proc]) -> dict[str, int]:
    """Tracebacks and ERROR lines per process log; logs with problems are kept."""
    out = {}
    for proc in procs.values():
        text = proc.log.read_text(errors="replace")
        count = text.count("Traceback") + sum(1 for line in text.splitlines() if "ERROR" in line)
        out[proc.kind] = count
        if count:
            print(f"[memory] {proc.kind} log has {count} error lines: {proc.log}", file=sys.stderr)
        else:
            proc.log.unlink(missing_ok=True)
    return out


# --- memory ------------------------------------------------------------------------
@dataclass
class Sample:
    label: str
    calls: int
    rss: dict[str, float] = field(default_factory=dict)  # MB, summed over the process tree
    uss: dict[str, float] = field(default_factory=dict)  # MB, memory unique to the tree's processes
    procs: dict[str, int] = field(default_factory=dict)


def sample(procs: dict[str, Proc], label: str, calls: int) -> Sample:
    out = Sample(label, calls)
    for kind, proc in procs.items():
        rss = uss = 0
        tree = []
        try:
            root = psutil.Process(proc.popen.pid)
            tree = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            pass
        for process in tree:
            try:
                info = process.memory_full_info()
                rss += info.rss
                uss += info.uss
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                pass
        out.rss[kind], out.uss[kind], out.procs[kind] = rss / 2**20, uss / 2**20, len(tree)
    print(f"[memory] {label:>10} ({calls:>6,} calls): "
          + ", ".join(f"{k} {out.rss[k]:.1f} MB (uss {out.uss[k]:.1f}, {out.procs[k]} proc)" for k in KINDS),
          file=sys.stderr)
    return out
