"""The pushes bench's client (bench/pushes.py): one asyncio loop playing every agent's console
(a socket each, answers to offers over the HTTP API, reloads of its state) and the reference's
bare ``group_send``, and the run it drives: connect, load, drain, account for every offer.

Django and the product are imported inside the functions: they need django_setup(), which
bench/pushes.py runs once it has set the environment.
"""
from __future__ import annotations

import asyncio
import collections
import json
import os
import random
import resource
import time

import aiohttp

from bench.push_processes import log, rss
from bench.push_setup import SUBDOMAIN, create_requests, open_work, run_offers

HOST = f"{SUBDOMAIN}.localhost"
ORIGIN = f"https://{HOST}"
DECLINE_SHARE = 0.2
REQUESTS_PER_AGENT = 0.6
PING_PERIOD = 0.25  # the reference's cadence
POLL_SECONDS = 30  # the console reloads its state this often even with the socket up (Redis layer)


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


async def drive(*, account, line, user_ids, cookies, ports, load_seconds, drain_seconds, webs, logs) -> dict:
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
