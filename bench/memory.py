"""Benchmark: memory of the production processes after 10,000 calls (issue 11, item 5).

    .venv/bin/python bench/memory.py [--quick] [--calls N] [--concurrency N]

A production-like stack, each process started here in its own process group with
production settings and bench-only secrets (``bench/webhook_setup.py``'s ``SERVER_ENV``):

- **web**: one ``daphne supportcenter.asgi:application`` (``bench.bench_settings``);
- **router**: one ``manage.py router`` (woken by ``NOTIFY``);
- **dialer**: one ``bench/drain_worker.py dialer --provider-ms 0`` (the product's dialer
  with the fake carrier: no real provider call is made);
- **worker**: one ``manage.py qcluster`` (housekeeping; its RSS is the sum over the
  cluster's process tree, so shared pages of the forked workers count once per process).

Calls go through the real, signed webhooks (the webhook bench's ``sign``/``_post``),
``CONCURRENCY`` calls in flight. Every call: ``voice`` → ``wait`` (hold loop) →
[one in ``CAPTURE_EVERY``: ``hold-key`` → ``menu`` 1 → ``confirm`` 1, a confirmed callback
request] → ``status`` (completed), so every call ends (the queue's exit webhook is left out:
the status callback settles the call alone, and the run stays within minutes). Three
agents of the scratch account are online; threads here play them: each accepts every
callback offer the router makes it (``offer_accept``, the service the console's API calls),
and when the dialer has placed the attempt it sends the callback's webhooks as the
provider would (agent answered → customer answered → agent leg completed), so the
agent is free again. Live-call offers are left alone (the caller hangs up at once).

RSS (psutil) of each process is sampled after a warm-up of ``WARMUP_CALLS`` calls (the
reference), at 1/4, 1/2, 3/4 of the calls and at the end; the figure is the last sample
over the warm-up one. Goal: no growth beyond ~20% after warm-up. It is a leak check, not
a sizing: RSS includes what the allocator keeps, and a ratio near 1 says nothing about
the absolute size.

Scratch account ``bench-memory`` in ``sc_bench``; its calls and everything they made
(tickets, end users, jobs, receipts, audit) are deleted at the start and at the end.
The router and dialer serve every account of ``sc_bench``: do not run this next to
another bench that needs its own router or dialer there.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import memory_calls, webhook_setup  # noqa: E402  (webhook_setup sets this process's environment to the servers')
from bench import webhooks as wh  # noqa: E402
from bench.common import Figure, show  # noqa: E402
from bench.memory_account import leftovers, others_at_work, setup_agents, wipe  # noqa: E402
from bench.memory_agents import Agents, settle  # noqa: E402
from bench.memory_calls import CAPTURE_EVERY, Answers, drive_calls  # noqa: E402
from bench.memory_stack import KINDS, Proc, Sample, log_problems, sample, start_stack, stop_stack  # noqa: E402

# The parts: bench/memory_stack.py (the processes and their memory), memory_account.py (the
# scratch account's agents and rows), memory_calls.py (the calls through the webhooks) and
# memory_agents.py (the agents' threads). The webhooks' requests, settings and scratch account
# are the webhook bench's (bench/webhook_*.py).

SUBDOMAIN = "bench-memory"
webhook_setup.SUBDOMAIN = SUBDOMAIN  # webhook_setup.scratch() reads it when called: its account, line and first agent are ours
CALLS = 10_000
QUICK_CALLS = 2_000
WARMUP_CALLS = 200
GROWTH_GOAL = 1.20


# --- the run -------------------------------------------------------------------------
@dataclass
class Run:
    calls: int
    samples: list[Sample]
    answers: Answers
    elapsed: float
    accepted: int
    completed: int
    gone: int
    settled_before: bool
    settled_after: bool
    log_errors: dict[str, int]
    leftovers: dict[str, int]
    others: str
    bad_signatures: int
    reincarnated: int


def run(calls: int) -> Run:
    webhook_setup.createdb()
    webhook_setup.django_ready()
    s = webhook_setup.scratch()
    setup_agents(s)
    wipe(s, offline=False)
    others = others_at_work()
    if others:
        print(f"[memory] warning: sc_bench already has {others}", file=sys.stderr)
    port = wh.free_port()
    base = f"http://127.0.0.1:{port}"
    answers = Answers()
    samples: list[Sample] = []
    agents: Agents | None = None
    procs: dict[str, Proc] = {}
    try:
        procs = start_stack(port)
        wh.forged(base, s)  # the signature is really checked
        agents = Agents(base, s, answers)
        agents.start()
        asyncio.run(drive_calls(base, s, 0, WARMUP_CALLS, answers))
        settled_before = settle(s, agents)
        samples.append(sample(procs, "warm-up", 0))
        marks = {calls * q // 4: (lambda q=q: samples.append(sample(procs, f"{q}/4", calls * q // 4)))
                 for q in (1, 2, 3, 4)}
        elapsed = asyncio.run(drive_calls(base, s, WARMUP_CALLS, calls, answers, marks))
        settled_after = settle(s, agents)
        samples.append(sample(procs, "settled", calls))
        agents.stop.set()
        agents.join(timeout=30)
        if agents.failure is not None:
            raise RuntimeError("the agents' thread failed") from agents.failure
    finally:
        if agents is not None:
            agents.stop.set()
            agents.join(timeout=30)
        stop_stack(procs)
        worker_log = procs["worker"].log.read_text(errors="replace") if "worker" in procs else ""
        bad_signatures = worker_log.count("Failed to push task")
        reincarnated = worker_log.count("reincarnated")
        errors = log_problems(procs) if procs else {}
        left = leftovers(s)
        wipe(s, offline=True)
    print(f"[memory] {calls:,} calls in {elapsed:.0f} s ({calls / elapsed:.1f} calls/s); {answers.summary()}; "
          f"callbacks accepted {agents.accepted}, completed {agents.completed}, offers gone {agents.gone}; "
          f"rows before cleanup {left}", file=sys.stderr)
    return Run(calls, samples, answers, elapsed, agents.accepted, agents.completed, agents.gone,
               settled_before, settled_after, errors, left, others, bad_signatures, reincarnated)


LABELS = {
    "web": "web (daphne, 1 process)",
    "router": "router (manage.py router)",
    "dialer": "dialer (drain_worker dialer, fake carrier)",
    "worker": "worker (manage.py qcluster, process tree)",
}


def run_figures(r: Run) -> list[Figure]:
    warm = r.samples[0]
    end = next(x for x in r.samples if x.label == "4/4")
    settled = r.samples[-1]
    out = []
    for kind in KINDS:
        series = " → ".join(f"{x.rss[kind]:.1f}" for x in r.samples if x.label != "settled")
        ratio = end.rss[kind] / warm.rss[kind] if warm.rss[kind] else float("nan")
        note = (f"RSS MB at warm-up, {', '.join(f'{x.calls:,}' for x in r.samples[1:-1])} calls: {series}; "
                f"settled after the last call {settled.rss[kind]:.1f}; USS {warm.uss[kind]:.1f} → {end.uss[kind]:.1f}; "
                f"{end.procs[kind]} process(es); log error lines {r.log_errors.get(kind, 0)}")
        if kind == "web":
            note += (f". Load: {r.calls:,} calls after {WARMUP_CALLS} warm-up, {memory_calls.CONCURRENCY} in flight, "
                     f"{r.calls / r.elapsed:.1f} calls/s; one in {CAPTURE_EVERY} confirms a callback; "
                     f"{r.answers.summary()}")
        if kind == "dialer":
            note += (f". Callbacks accepted {r.accepted:,}, completed through the webhooks {r.completed:,} "
                     f"(offers gone before accept {r.gone}); agents caught up before the warm-up sample: "
                     f"{r.settled_before}, after the last call: {r.settled_after}")
        if kind == "worker":
            if r.bad_signatures:
                note += (f". {r.bad_signatures} of its log's errors are tasks in the shared broker queue signed "
                         "with another secret key (another bench's tasks in sc_bench), refused")
            if r.reincarnated:
                note += (f". {r.reincarnated} of its processes died and were reincarnated by the cluster during "
                         "the run (see its log): the tree's RSS is then not one set of processes' history")
            if r.others:
                note += f". sc_bench had {r.others} of others at the start"
        out.append(Figure(
            name=f"RSS after {r.calls:,} calls: {LABELS[kind]}", unit="MB",
            product=end.rss[kind], reference=warm.rss[kind],
            reference_name=f"same process after {WARMUP_CALLS}-call warm-up",
            goal="≤ 1.2× reference (no growth beyond ~20% after warm-up; a leak check)",
            met=ratio <= GROWTH_GOAL, note=note,
        ))
    return out


def figures(quick: bool, calls: int | None = None) -> list[Figure]:
    return run_figures(run(calls or (QUICK_CALLS if quick else CALLS)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_CALLS:,} calls instead of {CALLS:,}")
    parser.add_argument("--calls", type=int, default=None, help="calls after the warm-up (overrides --quick)")
    parser.add_argument("--concurrency", type=int, default=memory_calls.CONCURRENCY, help="calls in flight")
    args = parser.parse_args()
    memory_calls.CONCURRENCY = max(1, args.concurrency)
    started = time.monotonic()
    show(figures(args.quick, args.calls))
    print(f"\n({time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
