"""The pushes bench's processes (bench/pushes.py): web processes and the router started in
sessions of their own, waited for and stopped, their memory and CPU time, and what their
logs say (tracebacks, pushes the channel layer dropped)."""
from __future__ import annotations

import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil

from bench.push_setup import bench_env

ROOT = Path(__file__).resolve().parent.parent


# --- processes ------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(args: list[str], out: Path, err: Path) -> subprocess.Popen:
    return subprocess.Popen(args, cwd=ROOT, env={**os.environ, **bench_env()}, stdout=open(out, "wb"),
                            stderr=open(err, "wb"), start_new_session=True)


def wait_ready(process: subprocess.Popen, ready, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode} at start")
        if ready():
            return
        time.sleep(0.2)
    raise RuntimeError(f"{what} not ready within {timeout:.0f} s")


def listening(port: int):
    def ready() -> bool:
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", port)) == 0
    return ready


def stop(processes: list[subprocess.Popen]) -> None:
    """SIGTERM to each one's process group, then SIGKILL to those still there after 10 s."""
    for process in processes:
        if process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + 10
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait()


CHAINED = ("The above exception was the direct cause", "During handling of the above exception")


def tracebacks(path: Path) -> list[tuple[str, str, int]]:
    """Each incident in a log, a chain of tracebacks counting once: (the log line before it
    with its variable part cut, e.g. "Exception inside application", the last exception line,
    the byte offset where it starts)."""
    raw = path.read_bytes().split(b"\n") if path.exists() else []
    lines = [x.decode(errors="replace") for x in raw]
    offsets, at = [], 0
    for x in raw:
        offsets.append(at)
        at += len(x) + 1
    found: list[tuple[str, str, int]] = []
    for i, line in enumerate(lines):
        if not line.startswith("Traceback (most recent call last)"):
            continue
        before = next((x for x in reversed(lines[:i]) if x.strip()), "")
        tail = next((x for x in lines[i + 1:] if x and not x.startswith(" ")), "?")[:140]
        if before.startswith(CHAINED) and found:
            found[-1] = (found[-1][0], tail, found[-1][2])  # the chain's last exception
        else:
            found.append((before.split(":")[0][:60] or "traceback", tail, offsets[i]))
    return found


OVER_CAPACITY = re.compile(r"(\d+) of (\d+) channels over capacity in group (\S+)")


def dropped(text: str) -> tuple[int, int]:
    """Messages channels_redis dropped (a channel at its capacity): (to user groups, to account groups)."""
    user = account = 0
    for match in OVER_CAPACITY.finditer(text):
        if ".user." in match.group(3):
            user += int(match.group(1))
        else:
            account += int(match.group(1))
    return user, account


class DropCounter(logging.Handler):
    """This process's own group_sends (the reference) dropped over capacity."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "over capacity" in message:
            self.text.append(message)


def log(text: str) -> None:
    print(f"bench/pushes.py: {text}", file=sys.stderr, flush=True)


def rss(process: subprocess.Popen) -> tuple[float, float]:
    try:
        p = psutil.Process(process.pid)
        times = p.cpu_times()
        return p.memory_info().rss / 2**20, times.user + times.system
    except psutil.Error:
        return float("nan"), float("nan")
