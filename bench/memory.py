"""Benchmark: memory of the production processes after 10,000 calls (issue 11, item 5).

    .venv/bin/python bench/memory.py [--quick] [--calls N] [--concurrency N]

A production-like stack, each process started here in its own process group with
production settings and bench-only secrets (``bench/webhooks.py``'s ``SERVER_ENV``):

- **web**: one ``daphne supportcenter.asgi:application`` (``bench.bench_settings``);
- **router**: one ``manage.py router`` (woken by ``NOTIFY``);
- **dialer**: one ``bench/drain_worker.py dialer --provider-ms 0`` (the product's dialer
  with the fake carrier: no real provider call is made);
- **worker**: one ``manage.py qcluster`` (housekeeping; its RSS is the sum over the
  cluster's process tree, so shared pages of the forked workers count once per process).

Calls go through the real, signed webhooks (``bench/webhooks.py``'s ``sign``/``_post``),
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
import html
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import webhooks as wh  # noqa: E402  (sets this process's environment to the servers')
from bench.common import Figure, show  # noqa: E402

SUBDOMAIN = "bench-memory"
wh.SUBDOMAIN = SUBDOMAIN  # wh.scratch() reads it when called: its account, line and first agent are ours
EXTRA_AGENTS = ("agent-2@bench-memory.test", "agent-3@bench-memory.test")
CALLS = 10_000
QUICK_CALLS = 2_000
WARMUP_CALLS = 200
CONCURRENCY = 12  # calls in flight
CAPTURE_EVERY = 5  # one call in five asks for a callback and confirms it
GROWTH_GOAL = 1.20
SETTLE_SECONDS = 60.0  # at most, for the callbacks still being served before a sample
APOLOGY_TEXT = "cannot take your call"
BIN = Path(sys.executable).parent
KINDS = ("web", "router", "dialer", "worker")


# --- the stack ----------------------------------------------------------------------
def commands(port: int) -> dict[str, list[str]]:
    python = str(BIN / "python")
    return {
        "web": wh.SERVER_COMMANDS["daphne"](port),
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
    env = {**os.environ, **wh.SERVER_ENV}
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
    import psutil

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


# --- the scratch account -------------------------------------------------------------
def setup_agents(s: wh.Scratch) -> None:
    from django_scopes import scope, scopes_disabled

    from supportcenter import services as core
    from supportcenter.models import User
    from talk.models import AgentPresence

    for n, email in enumerate(EXTRA_AGENTS, start=2):
        with scopes_disabled():
            user = User.objects.filter(email=email).first() or User.objects.create_user(
                email, "bench-password-1", name=f"Bench agent {n}")
        with scope(account=s.account):
            core.membership_grant(account=s.account, user=user, role="agent")
    with scope(account=s.account):
        AgentPresence.objects.filter(account=s.account).update(busy=False, busy_since=None, busy_call=None,
                                                               busy_attempt=None)
        for user_id in _member_ids(s.account):
            AgentPresence.objects.update_or_create(account=s.account, user_id=user_id,
                                                   defaults={"status": "online", "busy": False})


def _member_ids(account) -> list[int]:
    from django_scopes import scopes_disabled

    from supportcenter.models import Membership

    with scopes_disabled():
        return list(Membership.objects.filter(account=account, is_active=True).values_list("user_id", flat=True))


def wipe(s: wh.Scratch, *, offline: bool) -> None:
    """Everything the calls made in the scratch account: wh.empty's tables, then jobs and tickets."""
    from django.db import connection, transaction
    from django_scopes import scopes_disabled

    from talk.models import AgentPresence, ProviderJob
    from tickets.models import Comment, EndUser, Ticket, TicketCounter

    with scopes_disabled():  # free the agents first: their rows point at calls and attempts
        AgentPresence.objects.filter(account=s.account).update(
            busy=False, busy_since=None, busy_call=None, busy_attempt=None,
            **({"status": "offline"} if offline else {}))
    wh.empty(s.account)
    with transaction.atomic(), connection.cursor() as cursor:
        for model in (ProviderJob, Comment, Ticket, EndUser, TicketCounter):
            cursor.execute(f'DELETE FROM "{model._meta.db_table}" WHERE account_id = %s', [s.account.pk])


def leftovers(s: wh.Scratch) -> dict[str, int]:
    from django_scopes import scopes_disabled

    from talk.models import Call, CallbackRequest, ProviderJob
    from tickets.models import Ticket

    with scopes_disabled():
        return {m.__name__: m.objects.filter(account=s.account).count()
                for m in (Call, CallbackRequest, ProviderJob, Ticket)}


def others_at_work() -> str:
    """Another bench's router, dialer or tasks in sc_bench: ours would serve them too."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                       "AND pid <> pg_backend_pid() AND query ILIKE 'LISTEN%%'")
        listeners = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM django_q_ormq")
        queued = cursor.fetchone()[0]
    return f"{listeners} LISTEN session(s), {queued} queued task(s)" if listeners or queued else ""


# --- answers -------------------------------------------------------------------------
class Answers:
    """Requests per webhook kind, and what was wrong with the bad ones (wh.Slice counts them)."""

    def __init__(self) -> None:
        self.by_kind: dict[str, wh.Slice] = {}
        self.lock = threading.Lock()

    def slice(self, kind: str) -> wh.Slice:
        with self.lock:
            return self.by_kind.setdefault(kind, wh.Slice(kind))

    def sent(self) -> int:
        return sum(x.sent for x in self.by_kind.values())

    def bad(self) -> dict[str, dict[str, int]]:
        return {k: dict(x.statuses) for k, x in self.by_kind.items() if x.statuses}

    def summary(self) -> str:
        bad = self.bad()
        text = f"{self.sent():,} webhook requests"
        if not bad:
            return text + ", all 200 with the expected TwiML"
        return text + "; bad: " + "; ".join(f"{k} {v}" for k, v in sorted(bad.items()))


def expecting(needle: str, seen: dict | None = None):
    def check(status: int, text: str) -> bool:
        if seen is not None:
            seen["text"] = text
        return status == 200 and needle in text and APOLOGY_TEXT not in text

    return check


def action_of(text: str) -> str | None:
    match = re.search(r'action="([^"]+)"', text or "")
    if match is None:
        return None
    action = html.unescape(match.group(1))
    return action.removeprefix(wh.PUBLIC_BASE_URL)


def caller_number(i: int) -> str:
    return f"+1415{3100000 + i}"  # each call its own number: one pending request per number (C7)


# --- the calls -----------------------------------------------------------------------
async def one_call(session, base: str, s: wh.Scratch, i: int, answers: Answers) -> None:
    sid, caller = wh.new_sid(), caller_number(i)

    async def post(kind: str, path: str, check, **extra: str) -> bool:
        result = answers.slice(kind)
        before = result.good
        await wh._post(session, base, wh.sign(path, wh.call_params(sid, caller, **extra)), check, result)
        return result.good > before

    await post("voice", wh.hook(s, "voice"), expecting("<Enqueue"), CallStatus="ringing")
    await post("wait", wh.hook(s, "wait"), expecting("<Pause"), QueueTime="0")
    if i % CAPTURE_EVERY == 0:
        seen: dict = {}
        if await post("hold-key", wh.hook(s, "hold-key"), expecting("/menu/", seen), Digits=s.key):
            menu = action_of(seen["text"])
            if menu and await post("menu", menu, expecting("/confirm/", seen), Digits="1"):
                confirm = action_of(seen["text"])
                if confirm:
                    await post("confirm", confirm, wh.ok_capture, Digits="1")
    await post("status", wh.hook(s, "status"), expecting("<Response"), CallStatus="completed", CallDuration="3")


async def drive_calls(base: str, s: wh.Scratch, first: int, count: int, answers: Answers,
                      milestones: dict[int, callable] | None = None) -> float:
    """``count`` calls, numbered from ``first``, ``CONCURRENCY`` at a time; calls each
    milestone's function (a sample) when that many calls of this batch have ended."""
    import aiohttp

    milestones = dict(milestones or {})
    done = [0]
    next_index = [first]
    end = first + count
    started = time.monotonic()
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=wh.REQUEST_TIMEOUT)) as session:
        async def client() -> None:
            while next_index[0] < end:
                i = next_index[0]
                next_index[0] += 1
                await one_call(session, base, s, i, answers)
                done[0] += 1
                if done[0] in milestones:
                    milestones.pop(done[0])()  # a few ms of psutil: the other clients wait for it
                if done[0] % 1000 == 0:
                    rate = done[0] / (time.monotonic() - started)
                    print(f"[memory] {done[0]:,} calls, {rate:.1f} calls/s", file=sys.stderr)

        await asyncio.gather(*(client() for _ in range(CONCURRENCY)))
    return time.monotonic() - started


# --- the agents ----------------------------------------------------------------------
class Agent(threading.Thread):
    """One agent: accept its callback offers; play the provider's callback webhooks once the
    dialer placed its call. One thread per agent, so the agents keep up with the captures."""

    def __init__(self, base: str, s: wh.Scratch, answers: Answers, agent_id: int, stop: threading.Event) -> None:
        super().__init__(name=f"bench-memory-agent-{agent_id}", daemon=True)
        self.base, self.s, self.answers, self.agent_id = base, s, answers, agent_id
        self.stop = stop
        self.accepted = self.gone = self.completed = 0
        self.driven: set[int] = set()
        self.failure: BaseException | None = None

    def run(self) -> None:
        from django.db import close_old_connections, connection

        try:
            while not self.stop.is_set():
                close_old_connections()
                busy = self._accept() + self._drive()
                if not busy:
                    self.stop.wait(0.05)
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            self.failure = error
        finally:
            connection.close()

    def _accept(self) -> int:
        from django_scopes import scope

        from supportcenter.errors import ServiceError
        from supportcenter.models import User
        from talk.models import Offer, QueueEntry
        from talk.services.offers import offer_accept

        account = self.s.account
        n = 0
        with scope(account=account):
            offers = list(Offer.objects.filter(account=account, agent_id=self.agent_id, state=Offer.State.OFFERED,
                                               kind=QueueEntry.Kind.CALLBACK).values_list("pk", flat=True))
            for offer_id in offers:
                try:
                    offer_accept(account=account, offer_id=offer_id, agent=User.objects.get(pk=self.agent_id))
                    self.accepted += 1
                except ServiceError:
                    self.gone += 1
                n += 1
        return n

    def _drive(self) -> int:
        from django_scopes import scope

        from talk.models import CallbackAttempt

        with scope(account=self.s.account):
            placed = list(CallbackAttempt.objects.filter(account=self.s.account, agent_id=self.agent_id,
                                                         status=CallbackAttempt.Status.CALLING_AGENT)
                          .exclude(provider_call_sid="").exclude(pk__in=self.driven)
                          .values_list("pk", "provider_call_sid"))
        for attempt_id, sid in placed:
            self.driven.add(attempt_id)
            query = f"?a={attempt_id}"
            params = {"CallSid": sid, "AccountSid": wh.TWILIO_SID, "Direction": "outbound-api",
                      "From": "+14155550142", "To": "client:agent"}
            ok = self._post("cb-agent", wh.hook(self.s, "callback/agent") + query, "<Dial",
                            {**params, "CallStatus": "in-progress"})
            ok = ok and self._post("cb-dial-done", wh.hook(self.s, "callback/dial-done") + query, "callback has ended",
                                   {**params, "CallStatus": "in-progress", "DialCallStatus": "completed",
                                    "DialCallDuration": "42", "DialCallSid": wh.new_sid()})
            self._post("cb-agent-status", wh.hook(self.s, "callback/agent-status") + query, "<Response",
                       {**params, "CallStatus": "completed", "CallDuration": "45"})
            self.completed += ok
        return len(placed)

    def _post(self, kind: str, path: str, needle: str, params: dict[str, str]) -> bool:
        import urllib.error
        import urllib.request

        result = self.answers.slice(kind)
        request_path, body, headers = wh.sign(path, params)
        try:
            request = urllib.request.Request(self.base + request_path, data=body, headers=headers, method="POST")
            with urllib.request.urlopen(request, timeout=wh.REQUEST_TIMEOUT) as response:
                status, text = response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            status, text = error.code, ""
        except Exception as error:  # noqa: BLE001 - counted
            result.bad(type(error).__name__)
            return False
        with self.answers.lock:  # the agents' threads share these counters
            if expecting(needle)(status, text):
                result.good += 1
                return True
            result.bad(str(status) if status != 200 else "200, unexpected TwiML")
            return False


class Agents:
    """The account's agents, each in its own thread."""

    def __init__(self, base: str, s: wh.Scratch, answers: Answers) -> None:
        self.stop = threading.Event()
        self.threads = [Agent(base, s, answers, agent_id, self.stop) for agent_id in _member_ids(s.account)]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def join(self, timeout: float) -> None:
        for thread in self.threads:
            thread.join(timeout=timeout)

    @property
    def failure(self) -> BaseException | None:
        return next((x.failure for x in self.threads if x.failure is not None), None)

    def __getattr__(self, name: str) -> int:  # accepted, gone, completed: summed over the agents
        if name in ("accepted", "gone", "completed"):
            return sum(getattr(x, name) for x in self.threads)
        raise AttributeError(name)


def settle(s: wh.Scratch, agents: Agents, seconds: float = SETTLE_SECONDS) -> bool:
    """Wait until no callback is pending or being served (the agents have caught up)."""
    from django_scopes import scopes_disabled

    from talk.models import CallbackAttempt, CallbackRequest, ProviderJob

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with scopes_disabled():
            busy = (CallbackRequest.objects.filter(account=s.account, state__in=("pending", "in_progress")).exists()
                    or ProviderJob.objects.filter(account=s.account).exists()
                    or CallbackAttempt.objects.filter(account=s.account,
                                                      status__in=("queued", "calling_agent", "calling_customer"))
                    .exists())
        if not busy:
            time.sleep(1.0)  # the last pushes and housekeeping
            return True
        if agents.failure is not None:
            raise RuntimeError("the agents' thread failed") from agents.failure
        time.sleep(0.25)
    return False


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
    wh.createdb()
    wh.django_ready()
    s = wh.scratch()
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
            note += (f". Load: {r.calls:,} calls after {WARMUP_CALLS} warm-up, {CONCURRENCY} in flight, "
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
    global CONCURRENCY
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_CALLS:,} calls instead of {CALLS:,}")
    parser.add_argument("--calls", type=int, default=None, help="calls after the warm-up (overrides --quick)")
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY, help="calls in flight")
    args = parser.parse_args()
    CONCURRENCY = max(1, args.concurrency)
    started = time.monotonic()
    show(figures(args.quick, args.calls))
    print(f"\n({time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
