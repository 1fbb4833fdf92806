"""Benchmark: pushes that scale (issue 11, item 4): agents' sockets over several web processes.

    .venv/bin/python bench/pushes.py [--quick] [--sockets 500] [--processes 2]

(``bench/run.py`` calls ``figures(quick)``: 500 sockets, or 100 with ``quick``; 2 web processes.)
It creates the database ``sc_bench`` if missing (``createdb -h 127.0.0.1 -U postgres sc_bench``)
and migrates it; Redis db 3 with its own channel prefix. Never point it at data you keep: it
uses a scratch account ``bench-pushes`` (made here, emptied before and after each run).

What runs, production-like (``SC_ENV=production``, bench-only secrets, TLS behind a proxy:
the client sends ``X-Forwarded-Proto: https``):

- ``--processes`` web processes, ``daphne supportcenter.asgi:application`` on free ports;
- one router, ``manage.py router``'s command run by this file (``--router-process``), which
  only counts the routing passes (``talk.routing.route_account`` wrapped) into a file;
- in this process, an asyncio client: one ``/ws/agent/`` socket per agent (Host
  ``bench-pushes.localhost``, Origin ``https://bench-pushes.localhost``, the session cookie of
  a Django session made here with the auth keys), spread round-robin over the web processes;
  a socket closed by the server is counted and reconnected (then the agent reloads its open
  offer over HTTP, as the console does);
- a thread commits callback requests through ``talk.services.callback_requests`` at a steady
  rate (0.6 per agent over the load phase, so free agents remain); the router offers them;
  each agent answers each ``offer.new`` after a human delay (0.3-1.2 s) over the HTTP API
  the console uses: Don't answer (decline) 1 time in 5, else Call (accept; the agent then
  stays busy: no dialer runs here);
- the reference, in the same run and loop: a bare ``group_send`` of the channel layer from
  this process to one agent's user group, a few times a second → the frame on the socket.

Then it drains (no offer open, nothing waiting), and accounts for every offer the run made
(database): received as an ``offer.new`` frame on that agent's socket, or else found in the
agent's console state (``GET /talk/console/state.json``: the open offer or the recent ones)
with the agent's session; neither is a lost offer.

Figures: consumer crashes (tracebacks in the web processes' stderr + sockets closed by the
server), lost offers, commit → ``offer.new`` latency (first offer of each request; the commit
is stamped here when the service returns) against the bare ``group_send``, ``queue.changed``
frames per socket, per routing pass and per second, sockets connected, web processes' RSS.
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import json
import logging
import os
import random
import re
import resource
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import (
    BENCH_DATABASE,
    BENCH_REDIS,
    Figure,
    django_setup,
    percentile,
    show,
)

SUBDOMAIN = "bench-pushes"
HOST = f"{SUBDOMAIN}.localhost"
ORIGIN = f"https://{HOST}"
DECLINE_SHARE = 0.2
REQUESTS_PER_AGENT = 0.6
PING_PERIOD = 0.25  # the reference's cadence
POLL_SECONDS = 30  # the console reloads its state this often even with the socket up (Redis layer)

# Production settings with bench-only values (never real secrets).
BENCH_ENV = {
    "SC_ENV": "production",
    "SC_SECRET_KEY": "bench-pushes-only-not-a-secret-0123456789abcdefghijklmnopqrstuvwxyz",
    "SC_FIELD_ENCRYPTION_KEY": "bench-pushes-only-field-key-0123456789abcdef",
    "SC_BASE_DOMAIN": "localhost",
    "SC_ROUTE_NOTIFY": "true",
    "PYTHONUNBUFFERED": "1",
}


def _env() -> dict[str, str]:
    os.environ.setdefault("DATABASE_URL", BENCH_DATABASE)
    os.environ.setdefault("REDIS_URL", BENCH_REDIS)
    return {**BENCH_ENV, "DATABASE_URL": os.environ["DATABASE_URL"], "REDIS_URL": os.environ["REDIS_URL"]}


# --- the router, counting its passes ------------------------------------------------------
def router_process(pass_log: str) -> None:
    """``manage.py router`` as is, with each routing pass written to ``pass_log``."""
    django_setup(**_env())
    from django.core.management import call_command

    from talk import routing

    original = routing.route_account
    out = open(pass_log, "a", buffering=1)  # noqa: SIM115 (open while the router runs)

    def counted(account, *args, **kwargs):
        started = time.time()
        made = original(account, *args, **kwargs)
        out.write(f"{started:.6f} {time.time():.6f} {account.pk} {len(made)}\n")
        return made

    routing.route_account = counted
    call_command("router")


# --- scratch account --------------------------------------------------------------------
def ensure_database() -> None:
    name = os.environ["DATABASE_URL"].rsplit("/", 1)[1].split("?")[0]
    result = subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name], capture_output=True, text=True, check=False)
    if result.returncode != 0 and "already exists" not in result.stderr:
        raise RuntimeError(f"createdb {name}: {result.stderr.strip()}")


def setup(n_agents: int):
    from datetime import timedelta

    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.core.management import call_command
    from django.utils import timezone
    from django_scopes import scope, scopes_disabled

    from supportcenter import services as core
    from supportcenter.models import Account, Membership, User
    from talk.models import AgentPresence, Line
    from talk.services.lines import line_create
    from talk.services.telephony import telephony_settings_ensure

    call_command("migrate", interactive=False, verbosity=0)
    with scopes_disabled():
        account = Account.objects.filter(subdomain=SUBDOMAIN).first() or Account.objects.create(
            subdomain=SUBDOMAIN, name="Bench pushes", time_zone="UTC", region="US"
        )
        emails = [f"agent{i:04d}@bench-pushes.test" for i in range(n_agents)]
        existing = set(User.objects.filter(email__in=emails).values_list("email", flat=True))
        fresh = []
        for i, email in enumerate(emails):
            if email not in existing:
                user = User(email=email, name=f"Bench agent {i}")
                user.set_unusable_password()  # no login: sessions are made directly below
                fresh.append(user)
        User.objects.bulk_create(fresh)
        users = sorted(User.objects.filter(email__in=emails), key=lambda u: u.email)
    with scope(account=account):
        members = set(Membership.objects.filter(account=account, is_active=True, role="agent")
                      .values_list("user_id", flat=True))
        for user in users:
            if user.pk not in members:
                core.membership_grant(account=account, user=user, role="agent")
        telephony_settings_ensure(account=account)
        line = Line.objects.filter(account=account).first() or line_create(
            account=account, actor=None, name="Bench line", kind="phone", number="+14155550100", callback_enabled=True
        )
        Line.objects.filter(pk=line.pk).update(  # the product's default offer time
            callback_offer_seconds=Line._meta.get_field("callback_offer_seconds").default, enabled=True
        )
        line.refresh_from_db()
        empty(account)
        # Only this run's agents are online (a previous, larger run's stay offline).
        AgentPresence.objects.filter(account=account).update(status="offline", busy=False)
        ids = [u.pk for u in users]
        have = set(AgentPresence.objects.filter(account=account, user_id__in=ids).values_list("user_id", flat=True))
        AgentPresence.objects.bulk_create(
            [AgentPresence(account=account, user_id=pk) for pk in ids if pk not in have]
        )
        AgentPresence.objects.filter(account=account, user_id__in=ids).update(
            status="online", busy=False, busy_since=None, busy_call=None, busy_attempt=None, last_offered_at=None
        )
    sessions, cookies = [], {}
    for user in users:
        store = SessionStore()
        key = store._get_new_session_key()
        data = {SESSION_KEY: str(user.pk), BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
                HASH_SESSION_KEY: user.get_session_auth_hash()}
        sessions.append(Session(session_key=key, session_data=store.encode(data),
                                expire_date=timezone.now() + timedelta(hours=2)))
        csrf = secrets.token_hex(16)  # a 32-character CSRF secret, sent back as X-CSRFToken
        cookies[user.pk] = (f"sessionid={key}; csrftoken={csrf}", csrf)
    Session.objects.bulk_create(sessions)
    return account, line, [u.pk for u in users], cookies, [s.session_key for s in sessions]


def empty(account) -> None:
    """Remove the run's rows (offers, attempts, requests, entries, jobs, tickets); best effort for the last."""
    from django.apps import apps
    from django_scopes import scopes_disabled

    from talk.models import (
        AgentPresence,
        CallbackAttempt,
        CallbackRequest,
        Offer,
        QueueEntry,
    )

    with scopes_disabled():
        AgentPresence.objects.filter(account=account).update(busy=False, busy_since=None, busy_call=None,
                                                             busy_attempt=None)
        Offer.objects.filter(account=account).delete()
        CallbackAttempt.objects.filter(account=account).delete()
        ticket_ids = list(CallbackRequest.objects.filter(account=account, ticket__isnull=False)
                          .values_list("ticket_id", flat=True))
        CallbackRequest.objects.filter(account=account).delete()
        QueueEntry.objects.filter(account=account).delete()
        try:
            apps.get_model("talk", "ProviderJob").objects.filter(account=account).delete()
        except LookupError:
            pass
        try:
            apps.get_model("tickets", "Ticket").objects.filter(account=account, pk__in=ticket_ids).delete()
        except Exception as error:  # noqa: BLE001 -- tickets are only clutter here
            print(f"bench/pushes.py: tickets kept ({error})", file=sys.stderr)


def forget_groups(account) -> None:
    """Drop the channel layer's groups of the scratch account: channels of sockets that died without
    leaving them (a killed process, a crashed consumer) would fill to capacity and count as drops."""
    import redis
    from django.conf import settings

    config = settings.CHANNEL_LAYERS["default"]["CONFIG"]
    client = redis.Redis.from_url(config["hosts"][0])
    try:
        pattern = f"{config.get('prefix', 'asgi')}:group:account.{account.pk}*"
        keys = list(client.scan_iter(match=pattern, count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


# --- processes ------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(args: list[str], out: Path, err: Path) -> subprocess.Popen:
    return subprocess.Popen(args, cwd=ROOT, env={**os.environ, **_env()}, stdout=open(out, "wb"),
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


# --- the client -----------------------------------------------------------------------
class Agent:
    def __init__(self, user_id: int, port: int, cookie: str, csrf: str) -> None:
        self.user_id, self.port, self.cookie, self.csrf = user_id, port, cookie, csrf
        self.hello = asyncio.Event()
        self.frames: collections.Counter = collections.Counter()
        self.queue_changed = 0  # during the measured window
        self.offer_frames: dict[int, float] = {}  # offer id -> monotonic time of its frame
        self.seen_by_reload: set[int] = set()
        self.answered: set[int] = set()
        self.closes: list[int | None] = []  # close codes of sockets the server closed
        self.ws = None


class Client:
    def __init__(self, agents: list[Agent], session) -> None:
        self.agents = agents
        self.session = session
        self.stopping = False
        self.measuring = False
        self.pings: dict[int, float] = {}
        self.ping_latency: list[float] = []
        self.http = collections.Counter()
        self.connect_failures = collections.Counter()
        self.tasks: set[asyncio.Task] = set()
        self.lag: list[float] = []
        self.sent: collections.Counter = collections.Counter()

    def headers(self, agent: Agent) -> dict[str, str]:
        return {"Host": HOST, "X-Forwarded-Proto": "https", "Origin": ORIGIN, "Referer": f"{ORIGIN}/talk/console/",
                "Cookie": agent.cookie, "X-CSRFToken": agent.csrf}

    def spawn(self, coro) -> None:
        task = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def socket(self, agent: Agent, gate: asyncio.Semaphore) -> None:
        import aiohttp

        first, backoff = True, 1.0
        while not self.stopping:
            try:
                async with gate:
                    ws = await self.session.ws_connect(
                        f"http://127.0.0.1:{agent.port}/ws/agent/", autoping=True, max_msg_size=0,
                        headers={"Host": HOST, "Origin": ORIGIN, "Cookie": agent.cookie},
                    )
            except Exception as error:  # noqa: BLE001 -- refused handshake, connection error
                self.connect_failures[type(error).__name__] += 1
                await asyncio.sleep(backoff * random.uniform(0.5, 1.5))
                backoff = min(30.0, backoff * 2)
                continue
            agent.ws = ws
            async for msg in ws:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    self.frame(agent, json.loads(msg.data), time.monotonic(), first)
                elif msg.type == aiohttp.WSMsgType.ERROR:
                    break
            if self.stopping:
                return
            agent.closes.append(ws.close_code)  # the server closed it: reconnect, as the console does
            first = False
            await asyncio.sleep(backoff * random.uniform(0.5, 1.5))

    def frame(self, agent: Agent, message: dict, now: float, first: bool) -> None:
        kind = message.get("type")
        agent.frames[kind] += 1
        if kind == "hello":
            agent.hello.set()
            if not first:
                self.spawn(self.reload_offer(agent))
        elif kind == "queue.changed":
            if self.measuring:
                agent.queue_changed += 1
        elif kind == "offer.new":
            offer_id = message["payload"]["id"]
            agent.offer_frames.setdefault(offer_id, now)
            if offer_id not in agent.answered:
                self.spawn(self.answer(agent, offer_id))
        elif kind == "bench.ping":
            sent = self.pings.pop(message["payload"]["seq"], None)
            if sent is not None:
                self.ping_latency.append(now - sent)

    async def get(self, agent: Agent, path: str) -> dict:
        port = random.choice(self.ports)
        async with self.session.get(f"http://127.0.0.1:{port}{path}", headers=self.headers(agent)) as response:
            self.http[f"GET {response.status}"] += 1
            response.raise_for_status()
            return await response.json()

    async def reload_offer(self, agent: Agent) -> None:
        """The console reloads its state (after a reconnect, every 30 s): an open offer shows, and is answered."""
        try:
            offer = (await self.get(agent, "/talk/console/state.json"))["offer"]
        except Exception:  # noqa: BLE001 -- the next poll tries again
            return
        if offer is not None and offer["id"] not in agent.answered:
            agent.seen_by_reload.add(offer["id"])
            await self.answer(agent, offer["id"])

    async def poll(self, agent: Agent) -> None:
        await asyncio.sleep(random.uniform(0, POLL_SECONDS))
        while not self.stopping:
            await self.reload_offer(agent)
            await asyncio.sleep(POLL_SECONDS)

    async def group_monitor(self, layer, channel: str) -> None:
        """A channel of this process in the account's group: the pushes sent to every socket, as sent."""
        while not self.stopping:
            message = await layer.receive(channel)
            if self.measuring:
                self.sent[message.get("event")] += 1

    async def lag_monitor(self) -> None:
        """How late this client's loop runs a 50 ms timer: past a few ms, the client is the bottleneck."""
        while not self.stopping:
            started = time.monotonic()
            await asyncio.sleep(0.05)
            if self.measuring:
                self.lag.append(time.monotonic() - started - 0.05)

    async def answer(self, agent: Agent, offer_id: int) -> None:
        if offer_id in agent.answered:
            return
        agent.answered.add(offer_id)
        await asyncio.sleep(random.uniform(0.3, 1.2))  # the agent reads it and clicks
        verb = "decline" if random.random() < DECLINE_SHARE else "accept"
        port = random.choice(self.ports)
        url = f"http://127.0.0.1:{port}/api/v2/channels/voice/offers/{offer_id}/{verb}.json"
        try:
            async with self.session.post(url, headers={**self.headers(agent), "Content-Type": "application/json"},
                                         data=b"{}") as response:
                await response.read()
                self.http[f"{verb} {response.status}"] += 1
        except Exception as error:  # noqa: BLE001
            self.http[f"{verb} {type(error).__name__}"] += 1

    async def pinger(self, layer, groups: dict[int, str]) -> None:
        """The reference: a bare group_send to one agent's group from this process."""
        seq = 0
        while not self.stopping:
            agent = random.choice(self.agents)
            seq += 1
            self.pings[seq] = time.monotonic()
            await layer.group_send(groups[agent.user_id], {"type": "push", "event": "bench.ping",
                                                          "payload": {"seq": seq}})
            await asyncio.sleep(PING_PERIOD)


def create_requests(line, count: int, seconds: float, commits: dict[int, float]) -> None:
    """Commit ``count`` callback requests evenly over ``seconds``, stamping each commit."""
    from django.db import connection
    from django_scopes import scope

    from talk.services.callback_requests import callback_request_create

    try:
        with scope(account=line.account):
            started = time.monotonic()
            for i in range(count):
                delay = started + i * seconds / count - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                request = callback_request_create(line=line, number=f"+1415556{i:04d}")
                commits[request.pk] = time.monotonic()
    finally:
        connection.close()


def open_work(account) -> int:
    from django.db import connection
    from django_scopes import scopes_disabled

    from talk.models import Offer, QueueEntry

    try:
        with scopes_disabled():
            return (Offer.objects.filter(account=account, state="offered").count()
                    + QueueEntry.objects.filter(account=account, state="waiting").count())
    finally:
        connection.close()


def run_offers(account) -> list[tuple[int, int, int | None, str]]:
    """(offer id, agent id, callback request id, state) of every offer of the run."""
    from django.db import connection
    from django_scopes import scopes_disabled

    from talk.models import Offer

    try:
        with scopes_disabled():
            return list(Offer.objects.filter(account=account).order_by("pk")
                        .values_list("pk", "agent_id", "entry__callback_request__pk", "state"))
    finally:
        connection.close()


async def drive(*, account, line, user_ids, cookies, ports, load_seconds, drain_seconds, webs, logs) -> dict:
    import aiohttp
    from channels.layers import get_channel_layer

    from supportcenter.realtime import account_group, user_group

    agents = [Agent(pk, ports[i % len(ports)], *cookies[pk]) for i, pk in enumerate(user_ids)]
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    async with aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar(),
                                     timeout=aiohttp.ClientTimeout(total=30)) as session:
        client = Client(agents, session)
        client.ports = ports
        gate = asyncio.Semaphore(50)
        sockets = [asyncio.create_task(client.socket(agent, gate)) for agent in agents]
        sockets.append(asyncio.create_task(client.lag_monitor()))
        out: dict = {"agents": agents, "client": client}
        try:
            t0 = time.monotonic()
            try:
                await asyncio.wait_for(asyncio.gather(*(a.hello.wait() for a in agents)), timeout=min(60, max(20, len(agents) / 10)))
            except TimeoutError:
                pass
            out["connect_seconds"] = time.monotonic() - t0
            out["connected"] = sum(a.hello.is_set() for a in agents)
            if out["connected"] == 0:
                raise RuntimeError(f"no socket connected: {dict(client.connect_failures)}")
            log(f"{out['connected']} sockets connected in {out['connect_seconds']:.1f} s; load for {load_seconds:.0f} s")
            sockets += [asyncio.create_task(client.poll(agent)) for agent in agents]
            cpu0 = sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
            layer = get_channel_layer()
            groups = {a.user_id: user_group(account.pk, a.user_id) for a in agents}
            monitor = await layer.new_channel()
            await layer.group_add(account_group(account.pk), monitor)
            sockets.append(asyncio.create_task(client.group_monitor(layer, monitor)))
            commits: dict[int, float] = {}
            client.measuring = True
            out["window_start"] = (time.monotonic(), time.time())
            pinger = asyncio.create_task(client.pinger(layer, groups))
            requests = max(1, int(len(agents) * REQUESTS_PER_AGENT))
            await asyncio.to_thread(create_requests, line, requests, load_seconds, commits)
            log(f"{len(commits)} callback requests committed; draining (at most {drain_seconds:.0f} s)")
            deadline = time.monotonic() + drain_seconds
            while time.monotonic() < deadline and (client.tasks or await asyncio.to_thread(open_work, account)):
                await asyncio.sleep(0.5)
            await asyncio.sleep(1.0)  # the last frames in flight
            client.measuring = False
            out["window_end"] = (time.monotonic(), time.time())
            out["client_cpu"] = sum(resource.getrusage(resource.RUSAGE_SELF)[:2]) - cpu0
            out["loadavg"] = os.getloadavg()
            out["open_left"] = await asyncio.to_thread(open_work, account)
            out["commits"] = commits
            out["rss"] = [rss(p) for p in webs]  # holding the sockets
            # Every offer of the run: its frame, or else the agent's console state over HTTP.
            offers = await asyncio.to_thread(run_offers, account)
            by_agent = {a.user_id: a for a in agents}
            missed = collections.defaultdict(list)
            for offer_id, agent_id, _request, _state in offers:
                agent = by_agent.get(agent_id)
                if agent is not None and offer_id not in agent.offer_frames:
                    missed[agent_id].append(offer_id)
            gate = asyncio.Semaphore(20)

            async def reload(agent_id: int, ids: list[int]) -> None:
                async with gate:
                    try:
                        state = await client.get(by_agent[agent_id], "/talk/console/state.json")
                    except Exception:  # noqa: BLE001 -- counted in client.http; its offers stay unaccounted (lost)
                        return
                shown = {o["id"] for o in state.get("recent", [])} | ({state["offer"]["id"]} if state.get("offer") else set())
                by_agent[agent_id].seen_by_reload |= shown & set(ids)

            log(f"drained; {sum(map(len, missed.values()))} offers without a frame: reloading {len(missed)} consoles")
            await asyncio.gather(*(reload(agent_id, ids) for agent_id, ids in missed.items()))
            out["offers"] = offers
            out["err_sizes"] = [(logs / f"web{i}.err").stat().st_size for i in range(len(webs))]  # before we close
            out["router_err_size"] = (logs / "router.err").stat().st_size
            client.stopping = True
            pinger.cancel()
            await layer.group_discard(account_group(account.pk), monitor)
        finally:
            client.stopping = True
            for agent in agents:
                if agent.ws is not None and not agent.ws.closed:
                    await agent.ws.close()
            for task in sockets + list(client.tasks):
                task.cancel()
            await asyncio.gather(*sockets, *client.tasks, return_exceptions=True)
    return out


def log(text: str) -> None:
    print(f"bench/pushes.py: {text}", file=sys.stderr, flush=True)


def rss(process: subprocess.Popen) -> tuple[float, float]:
    import psutil

    try:
        p = psutil.Process(process.pid)
        times = p.cpu_times()
        return p.memory_info().rss / 2**20, times.user + times.system
    except psutil.Error:
        return float("nan"), float("nan")


# --- the figures --------------------------------------------------------------------------
def figures(quick: bool, sockets: int | None = None, processes: int = 2) -> list[Figure]:
    n = sockets or (100 if quick else 500)
    load_seconds, drain_seconds = (20.0, 12.0) if quick else (45.0, 25.0)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = n * 2 + 256
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard) if hard != resource.RLIM_INFINITY else want, hard))
    os.environ.update(_env())
    ensure_database()
    django_setup(**_env())
    from django.conf import settings

    if not settings.ROUTE_NOTIFY or "Redis" not in settings.CHANNEL_LAYERS["default"]["BACKEND"]:
        raise RuntimeError("bench/pushes.py needs PostgreSQL, Redis and SC_ROUTE_NOTIFY")
    log(f"setting up {n} agents")
    account, line, user_ids, cookies, session_keys = setup(n)
    forget_groups(account)
    drops = DropCounter()
    layer_log = logging.getLogger("channels_redis")
    layer_log.addHandler(drops)
    layer_log.propagate = False  # counted, not printed
    logs = Path(tempfile.mkdtemp(prefix="bench-pushes-"))
    pass_log = logs / "passes.log"
    webs: list[subprocess.Popen] = []
    router = None
    try:
        ports = [free_port() for _ in range(processes)]
        for i, port in enumerate(ports):
            webs.append(start([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                               "supportcenter.asgi:application"], logs / f"web{i}.out", logs / f"web{i}.err"))
        router = start([sys.executable, str(Path(__file__).resolve()), "--router-process", str(pass_log)],
                       logs / "router.out", logs / "router.err")
        for i, (web, port) in enumerate(zip(webs, ports)):
            wait_ready(web, listening(port), f"web process {i}")
        wait_ready(router, lambda: "router listening" in (logs / "router.out").read_text(), "router")
        baseline = [rss(p) for p in webs]
        log(f"{processes} web processes and the router started")
        out = asyncio.run(drive(account=account, line=line, user_ids=user_ids, cookies=cookies, ports=ports,
                                load_seconds=load_seconds, drain_seconds=drain_seconds, webs=webs, logs=logs))
    finally:
        stop(webs + ([router] if router else []))
        try:
            from django.contrib.sessions.models import Session
            from django.db import connection

            connection.close()
            Session.objects.filter(session_key__in=session_keys).delete()
            empty(account)
            forget_groups(account)
        except Exception as error:  # noqa: BLE001
            print(f"bench/pushes.py: cleanup failed: {error}", file=sys.stderr)
    layer_log.removeHandler(drops)
    layer_log.propagate = True
    out["bench_drops"] = dropped("\n".join(drops.text))
    return report(out, n, processes, ports, baseline, logs, pass_log, account.pk, load_seconds)


def report(out, n, processes, ports, baseline, logs, pass_log, account_id, load_seconds) -> list[Figure]:
    agents, client = out["agents"], out["client"]
    by_agent = {a.user_id: a for a in agents}
    incidents = [(kind, tail, at < out["err_sizes"][i])
                 for i in range(processes) for kind, tail, at in tracebacks(logs / f"web{i}.err")]
    consumer = [(tail, running) for kind, tail, running in incidents if kind == "Exception inside application"]
    others = [f"{kind}: {tail}" for kind, tail, _running in incidents if kind != "Exception inside application"]
    router_incidents = tracebacks(logs / "router.err")
    running_drops, closing_drops = [0, 0], [0, 0]
    for name, size in [("router.err", out["router_err_size"])] + [
        (f"web{i}.err", out["err_sizes"][i]) for i in range(processes)
    ]:
        text = (logs / name).read_bytes()
        for total, part in ((running_drops, text[:size]), (closing_drops, text[size:])):
            found = dropped(part.decode(errors="replace"))
            total[0] += found[0]
            total[1] += found[1]
    user_drops, account_drops = running_drops
    closes = collections.Counter(code for a in agents for code in a.closes)

    offers = out["offers"]
    framed = recovered = lost = outside = 0
    for offer_id, agent_id, _request, _state in offers:
        agent = by_agent.get(agent_id)
        if agent is None:
            outside += 1
            lost += 1
        elif offer_id in agent.offer_frames:
            framed += 1
        elif offer_id in agent.seen_by_reload:
            recovered += 1
        else:
            lost += 1
    states = collections.Counter(state for *_rest, state in offers)

    first: dict[int, tuple[int, int]] = {}
    for offer_id, agent_id, request_id, _state in offers:
        if request_id is not None and request_id not in first:
            first[request_id] = (offer_id, agent_id)
    latency = []
    for request_id, committed in out["commits"].items():
        if request_id in first:
            offer_id, agent_id = first[request_id]
            at = by_agent[agent_id].offer_frames.get(offer_id) if agent_id in by_agent else None
            if at is not None:
                latency.append((at - committed) * 1000)
    ping = [s * 1000 for s in client.ping_latency]

    window = out["window_end"][0] - out["window_start"][0]
    wall0, wall1 = out["window_start"][1], out["window_end"][1]
    passes = []
    if pass_log.exists():
        for row in pass_log.read_text().split("\n"):
            parts = row.split()
            if len(parts) == 4 and int(parts[2]) == account_id and wall0 <= float(parts[0]) <= wall1:
                passes.append((float(parts[1]) - float(parts[0]), int(parts[3])))
    made_here = sum(made for _d, made in passes)
    counts = [a.queue_changed for a in agents if a.hello.is_set()]
    per_socket = sum(counts) / len(counts) if counts else float("nan")
    sent = client.sent["queue.changed"]
    per_pass = sent / len(passes) if passes else float("nan")
    pass_ms = [d * 1000 for d, _m in passes]
    lag = [x * 1000 for x in client.lag]

    kinds = collections.Counter(tail for tail, _running in consumer)
    at_close = sum(1 for _tail, running in consumer if not running)
    per_process = collections.Counter(a.port for a in agents)
    rss_after = out["rss"]
    rss_note = "; ".join(
        f"web {i}: {before[0]:.0f} → {after[0]:.0f} MB with {per_process[port]} sockets "
        f"(~{(after[0] - before[0]) * 1024 / max(1, per_process[port]):.0f} KB/socket), CPU {after[1] - before[1]:.1f} s"
        for i, (port, before, after) in enumerate(zip(ports, baseline, rss_after, strict=True))
    )
    return [
        Figure(
            "sockets connected (hello received)", "", out["connected"], goal=f"{n}", met=out["connected"] == n,
            note=f"{n} agents over {processes} web processes, connected in {out['connect_seconds']:.1f} s; "
                 f"connect failures (then retried): {dict(client.connect_failures) or 'none'}",
        ),
        Figure(
            "consumer crashes (tracebacks in the web processes)", "", len(consumer), goal="0", met=not consumer,
            note=f"{'; '.join(f'{k} ×{v}' for k, v in kinds.most_common(3)) or 'none'}"
                 f"{f' ({at_close} of them while the client closed its sockets at the end)' if at_close else ''}; "
                 f"other tracebacks of the web processes: {len(others)} ({'; '.join(sorted(set(others))[:2]) or 'none'}); "
                 f"router: {len(router_incidents)} ({'; '.join(sorted({t for _k, t, _a in router_incidents})[:2]) or 'none'}); "
                 f"HTTP answers {dict(sorted(client.http.items()))}; logs in {logs}",
        ),
        Figure("sockets closed by the server", "", sum(closes.values()), goal="0", met=not closes,
               note=f"close codes {dict(closes)}; each reconnected and reloaded" if closes else ""),
        Figure(
            "lost offers (neither offer.new frame nor console reload)", "", lost, goal="0", met=lost == 0,
            note=f"{len(offers)} offers ({made_here} by this run's router{'; others by another router on sc_bench' if made_here < len(offers) else ''}): "
                 f"{framed} by frame, {recovered} only by an HTTP reload, {lost} lost"
                 f"{f' ({outside} to agents without a socket)' if outside else ''}; final states {dict(states)}; "
                 f"{len(out['commits'])} callback requests over {load_seconds:.0f} s; open after the drain: {out['open_left']}",
        ),
        Figure("offers that reached the agent only by an HTTP reload", "", recovered,
               note="the frame never came (or came after the run): the 30 s poll or the final reload showed it"),
        Figure(
            "pushes dropped by the channel layer (a socket's channel over capacity)", "", user_drops + account_drops,
            goal="0", met=user_drops + account_drops == 0,
            note=f"{user_drops} to one agent's group (offer.new/accepted/withdrawn), {account_drops} to the account's "
                 f"group (queue.changed ...), from the router's and the web processes' logs (channels_redis, "
                 f"capacity 100 per channel); the reference's own: {sum(out['bench_drops'])}; after the run, while "
                 f"the client closed its sockets: {sum(closing_drops)} more",
        ),
        Figure(
            "commit → offer.new frame, p50", "ms", percentile(latency, 50), percentile(ping, 50),
            "bare group_send → frame", note=f"{len(latency)} first offers of requests; reference: {len(ping)} "
                                            f"group_sends from the bench process; routing pass p50 {percentile(pass_ms, 50):.1f} ms, "
                                            f"p99 {percentile(pass_ms, 99):.1f} ms",
        ),
        Figure("commit → offer.new frame, p99", "ms", percentile(latency, 99), percentile(ping, 99),
               "bare group_send → frame", note=f"max {max(latency, default=float('nan')):,.0f} ms"),
        Figure(
            "queue.changed frames per socket (whole run)", "", per_socket,
            note=f"min {min(counts, default=0)}, max {max(counts, default=0)} over {len(counts)} sockets; "
                 f"{sum(counts):,} frames in {window:.0f} s; {len(passes)} routing passes by this run's router "
                 f"({sum(1 for _d, m in passes if m)} made offers)",
        ),
        Figure("queue.changed pushes to the account per routing pass", "", per_pass, goal="≤ 1, coalesced",
               met=None if per_pass != per_pass else per_pass <= 1,  # noqa: PLR0124 (NaN)
               note=f"{sent} queue.changed sent to the account's group (a channel of the bench process in the "
                    f"group counts them as sent) over {len(passes)} passes; each socket received {per_socket:.0f} "
                    f"({per_socket / sent if sent else float('nan'):.0%}) within the run"),
        Figure("queue.changed frames per socket per second", "/s", per_socket / window if window else float("nan"),
               goal="bounded per account"),
        Figure("web process RSS after the run (mean)", "MB", sum(r[0] for r in rss_after) / len(rss_after),
               note=rss_note),
        Figure("bench client's loop lag, p99 (50 ms timer)", "ms", percentile(lag, 99),
               note=f"client CPU {out['client_cpu'] / window:.0%} of one core over the window (sockets, HTTP, "
                    f"the committing thread); machine load average {out['loadavg'][0]:.1f} (shared machine)"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="100 sockets, 20 s of load")
    parser.add_argument("--sockets", type=int, default=None, help="agents' sockets (default 500, quick 100)")
    parser.add_argument("--processes", type=int, default=2, help="web processes (daphne)")
    args = parser.parse_args()
    show(figures(args.quick, sockets=args.sockets, processes=args.processes))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--router-process":
        router_process(sys.argv[2])
    else:
        main()
