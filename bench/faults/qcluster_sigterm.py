"""Drill qcluster_sigterm: how long the task cluster (``manage.py tasks``, django-q2) takes to stop on SIGTERM.

    .venv/bin/python -m bench.faults.qcluster_sigterm [--quick]

The task cluster (django-q2 on the private PostgreSQL, production settings: 3 workers, the
routing sweep scheduled) is started in its own process group and left to run until all its
processes are up and it has run a few tasks (``talk.tasks.route`` for the scratch account,
enqueued through django-q2 as the product does; five more just before the signal). Then
SIGTERM goes to the whole process group, as a service manager sends it, and the drill
measures how long until every process of the group has exited. Requirement: within the
cluster's own timeout (``Q_CLUSTER["timeout"]`` in supportcenter/settings.py, 60 s). The
wait is capped at 90 s; then the group is killed with SIGKILL and the drill fails.

acknowledged: tasks enqueued; stored: tasks with a saved result or still queued (to run
after a restart); lost: neither.
"""
from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path[0] = str(Path(__file__).resolve().parents[2])

from bench.faults import common as c

NAME = "qcluster_sigterm"
CAP_SECONDS = 90.0


def group(pgid: int) -> list:
    import psutil

    out = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        try:
            if os.getpgid(process.pid) == pgid and process.status() != psutil.STATUS_ZOMBIE:
                out.append(process)
        except (ProcessLookupError, psutil.Error):
            pass
    return out


def enqueue(s, n: int) -> list[str]:
    from django_q.tasks import async_task

    return [async_task("talk.tasks.route", s.account.pk, group="faults") for _ in range(n)]


def accounted(ids: list[str]) -> tuple[int, int, int]:
    """(with a saved result, still queued, neither)."""
    from django_q.models import OrmQ, Task
    from django_q.signing import SignedPackage

    done = set(Task.objects.filter(id__in=ids).values_list("id", flat=True))
    queued = set()
    for row in OrmQ.objects.all():
        try:
            queued.add(SignedPackage.loads(row.payload)["id"])
        except Exception:  # noqa: BLE001 - another package format: not ours
            pass
    queued &= set(ids) - done
    return len(done), len(queued), len(set(ids) - done - queued)


def run(quick: bool) -> dict:
    from django.conf import settings

    failures, notes = [], []
    timeout = settings.Q_CLUSTER["timeout"]
    with c.time_limit(175):
        try:
            s = c.scratch()
            c.reset(s)
            cluster = c.spawn("qcluster", [c.PYTHON, "manage.py", "tasks"])  # the product's cluster command
            workers = settings.Q_CLUSTER["workers"]
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if not cluster.alive():
                    raise RuntimeError(f"qcluster exited at start: {cluster.text()[-1500:]}")
                if "running" in cluster.text() and len(group(cluster.pid)) >= workers + 3:
                    break
                time.sleep(0.2)
            else:
                raise RuntimeError(f"qcluster not running in 60 s: {cluster.text()[-1500:]}")
            ids = enqueue(s, 5)
            time.sleep(4 if quick else 10)  # it works: the sweep's schedule fires, tasks run
            ids += enqueue(s, 5)
            time.sleep(0.5)
            processes = group(cluster.pid)
            c.log(NAME, f"SIGTERM to the process group of {len(processes)} processes")
            signalled = time.monotonic()
            os.killpg(cluster.pid, signal.SIGTERM)
            last: list = processes
            exited_at = None
            while time.monotonic() < signalled + CAP_SECONDS:
                last = group(cluster.pid)
                if not last:
                    exited_at = time.monotonic()
                    break
                time.sleep(0.1)
            if exited_at is None:
                left = [f"{p.pid} {' '.join(p.info['cmdline'] or [])[-60:]}" for p in last]
                c.stop_proc(cluster, timeout=0)  # SIGKILL to the group
                failures.append(f"{len(left)} of {len(processes)} processes still running {CAP_SECONDS:.0f} s after "
                                f"SIGTERM (killed with SIGKILL): {'; '.join(left[:4])}")
            else:
                took = exited_at - signalled
                notes.append(f"all {len(processes)} processes exited {took:.1f} s after SIGTERM "
                             f"(requirement: within the cluster's timeout, {timeout} s)")
                if took > timeout:
                    failures.append(f"stopping took {took:.1f} s, over the cluster's timeout ({timeout} s)")
            cluster.popen.wait(timeout=5)
            notes.append(f"exit status {cluster.popen.returncode}; processes: {len(processes)}")
            tail = [line for line in cluster.text().splitlines() if "stop" in line.lower() or "exit" in line.lower()]
            if tail:
                notes.append("cluster's last words: " + " / ".join(line.strip()[-90:] for line in tail[-3:]))
            errors = c.tracebacks(cluster.text())
            if errors:
                notes.append(f"tracebacks: {c.summarise(errors, 2)}")
            done, queued, lost = accounted(ids)
            notes.append(f"tasks: {done} ran (result saved), {queued} still queued, {lost} neither")
            return c.result(NAME, acknowledged=len(ids), stored=done + queued, lost=lost, duplicates=0,
                            failures=failures, notes=notes)
        finally:
            c.stop_all()


if __name__ == "__main__":
    c.main(sys.modules[__name__])
