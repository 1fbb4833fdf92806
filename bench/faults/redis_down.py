"""Drill redis_down: the channel layer's Redis stops for 30 s (10 s with --quick).

    .venv/bin/python -m bench.faults.redis_down [--quick]

A ``daphne`` web process on the private Redis (6380). Before the outage an agent's console
socket (``/ws/agent/``, supportcenter/ws_urls.py; the agent's Django session cookie, Host
and Origin of the account) says hello and receives a push. Then this drill stops Redis and,
during the outage:

- sends webhooks (captures ``/confirm/`` and incoming calls ``/voice/``), 2 a second each:
  they must answer 200 with their TwiML (DESIGN: telephony webhooks never touch Redis);
  a ``push ... failed`` line from them in the server log would show they do;
- opens a NEW socket: it must be refused cleanly (an HTTP error or a close, never accepted
  as if live; no 500 traceback in the server log);
- watches the socket opened before.

After Redis is back, the console's socket must recover: the old socket, if still open,
must receive a push again (else it is a zombie: open, deaf, never reconnected); if it was
closed, the drill reconnects as the console does (backoff 1, 2, 4 … s) and the new socket
must say hello and receive a push, within 20 s of Redis being up.

acknowledged: captures answered 200 with the confirmation; stored: their confirmed requests.
"""
from __future__ import annotations

import asyncio
import sys
import time
import uuid
from pathlib import Path

if __package__ in (None, ""):
    sys.path[0] = str(Path(__file__).resolve().parents[2])

from bench.faults import common as c

NAME = "redis_down"
RECOVERY_SECONDS = 20.0


def session_cookie(user) -> str:
    """A signed-in session of ``user`` (database sessions, as the product's login makes)."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return f"sessionid={store.session_key}"


class Socket:
    """A console socket: every frame and its close, with times (monotonic)."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.frames: list[tuple[float, dict]] = []
        self.opened_at: float | None = None
        self.closed_at: float | None = None
        self.close_code: int | None = None
        self.refused: str = ""  # the handshake's failure
        self.ws = None
        self.reader = None

    @property
    def open(self) -> bool:
        return self.ws is not None and self.closed_at is None

    async def connect(self, session, port: int, cookie: str, timeout: float = 5.0) -> None:
        import aiohttp

        headers = {"Host": c.HOST, "Origin": f"https://{c.HOST}", "Cookie": cookie}
        try:
            self.ws = await asyncio.wait_for(
                session.ws_connect(f"ws://127.0.0.1:{port}/ws/agent/", headers=headers, heartbeat=None), timeout)
        except aiohttp.WSServerHandshakeError as error:
            self.refused = f"HTTP {error.status}"
            return
        except (TimeoutError, aiohttp.ClientError, OSError) as error:
            self.refused = type(error).__name__
            return
        self.opened_at = time.monotonic()
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        import aiohttp

        try:
            async for message in self.ws:
                if message.type == aiohttp.WSMsgType.TEXT:
                    self.frames.append((time.monotonic(), message.json()))
        finally:
            self.closed_at = time.monotonic()
            self.close_code = self.ws.close_code

    async def wait_for(self, predicate, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(predicate(frame) for _at, frame in self.frames):
                return True
            if self.closed_at is not None:
                return False
            await asyncio.sleep(0.05)
        return False

    async def close(self) -> None:
        if self.ws is not None and not self.ws.closed:
            await self.ws.close()
        if self.reader is not None:
            await asyncio.gather(self.reader, return_exceptions=True)

    def describe(self) -> str:
        if self.refused:
            return f"refused ({self.refused})"
        if self.ws is None:
            return "never connected"
        hello = any(frame.get("type") == "hello" for _at, frame in self.frames)
        state = "open" if self.closed_at is None else f"closed by the server (code {self.close_code})"
        return f"{'accepted with hello' if hello else 'accepted, no hello'}, {state}"


async def push(group: str, token: str) -> str:
    """A push through the channel layer (this process, same Redis), as the product sends them."""
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    for attempt in range(5):
        try:
            await layer.group_send(group, {"type": "push", "event": "queue.changed", "payload": {"drill": token}})
            return ""
        except Exception as error:  # noqa: BLE001 - Redis just back: its pool reconnects
            if attempt == 4:
                return f"{type(error).__name__}: {error}"
            await asyncio.sleep(0.5)
    return ""


def has_push(token: str):
    return lambda frame: frame.get("type") == "queue.changed" and frame.get("payload", {}).get("drill") == token


async def drill(s, web, user, cookie: str, requests, voice, outage: float, failures: list, notes: list) -> list:
    import aiohttp

    from supportcenter.realtime import user_group

    group = user_group(s.account.pk, user.pk)
    base = f"http://127.0.0.1:{web.port}"
    async with aiohttp.ClientSession() as session:
        old = Socket("A")
        await old.connect(session, web.port, cookie)
        if not await old.wait_for(lambda f: f.get("type") == "hello", 5):
            raise RuntimeError(f"the console socket does not work even with Redis up: {old.describe()} "
                               f"{c.tracebacks(web.text())[:1]}")
        token = uuid.uuid4().hex
        error = await push(group, token)
        if error or not await old.wait_for(has_push(token), 5):
            raise RuntimeError(f"a push does not reach the socket even with Redis up ({error or 'not received'})")

        offset = len(web.text())
        await asyncio.get_running_loop().run_in_executor(None, c.REDIS.stop)
        down_at = time.monotonic()
        c.log(NAME, f"Redis stopped; webhooks and a new socket for {outage:.0f} s")

        new = Socket("B")

        async def open_new() -> None:
            await asyncio.sleep(2.0)
            await new.connect(session, web.port, cookie)
            await asyncio.sleep(2.0)  # what the server does with it next

        rate = 2.0
        n = min(len(requests), int(outage * rate))
        both = [item for pair in zip(requests[:n], voice[:n]) for item in pair]
        answers, _ = await asyncio.gather(
            c.stream([base], both, 2 * rate, timeout=5.0, failover=False), open_new())
        while time.monotonic() < down_at + outage:
            await asyncio.sleep(0.1)
        during = web.text()[offset:]
        old_during = old.describe()
        await asyncio.get_running_loop().run_in_executor(None, c.REDIS.start)
        up_at = time.monotonic()
        c.log(NAME, "Redis is back")

        # --- the webhooks during the outage ---------------------------------------------
        captures = [x for i, x in enumerate(answers) if i % 2 == 0]
        calls = [x for i, x in enumerate(answers) if i % 2 == 1]
        bad_captures = [x for x in captures if not c.wh.ok_capture(x.status or 0, x.text)]
        bad_calls = [x for x in calls if not c.wh.ok_incoming(x.status or 0, x.text)]
        slowest = max((x.latency for x in answers), default=0.0)
        notes.append(f"during the outage: {len(captures) - len(bad_captures)}/{len(captures)} captures and "
                     f"{len(calls) - len(bad_calls)}/{len(calls)} incoming calls answered 200 with their TwiML "
                     f"(slowest {slowest * 1000:.0f} ms)")
        if bad_captures or bad_calls:
            failures.append("webhooks failed while Redis was down: " + c.summarise(
                [f"{x.status} {'apology' if c.is_apology(x.text) else x.text[:60]}" for x in bad_captures + bad_calls]))
        if "push to" in during and "failed" in during:
            notes.append("the server logged failed pushes during the outage (something on the request path pushes)")

        # --- the new socket during the outage ---------------------------------------------
        outage_errors = c.tracebacks(during)
        notes.append(f"new socket during the outage: {new.describe()}; socket opened before: {old_during}")
        if new.ws is not None and any(f.get("type") == "hello" for _at, f in new.frames):
            failures.append("a new socket was accepted (hello) while Redis was down: it can never receive a push")
        if new.refused.startswith("HTTP 5"):
            failures.append(f"the new socket was refused with {new.refused} (a server error, not a clean refusal)")
        if outage_errors:
            failures.append(f"{len(outage_errors)} tracebacks in the server log during the outage: "
                            f"{c.summarise(outage_errors)}")

        # --- recovery ------------------------------------------------------------------------
        recovered = ""
        if old.open:
            token = uuid.uuid4().hex
            error = await push(group, token)
            if not error and await old.wait_for(has_push(token), 5):
                recovered = f"the old socket stayed open and receives pushes again ({time.monotonic() - up_at:.1f} s)"
            elif old.open:
                failures.append("the socket opened before the outage is still open but receives no push after "
                                f"Redis is back (a zombie: the console will not reconnect) {error}")
        if not recovered and not old.open:
            delay, tries, outcomes = 1.0, 0, []
            while time.monotonic() < up_at + RECOVERY_SECONDS and not recovered:
                tries += 1
                again = Socket(f"A{tries}")
                at = time.monotonic() - up_at
                await again.connect(session, web.port, cookie)
                hello = again.ws is not None and await again.wait_for(lambda f: f.get("type") == "hello", 3)
                outcomes.append(f"+{at:.1f} s {again.describe()}")
                if hello:
                    token = uuid.uuid4().hex
                    error = await push(group, token)
                    if not error and await again.wait_for(has_push(token), 5):
                        recovered = (f"the console's socket reconnected (try {tries}) and receives pushes, "
                                     f"{time.monotonic() - up_at:.1f} s after Redis was back")
                await again.close()
                if not recovered:
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 8.0)
            notes.append("reconnects after Redis was back: " + "; ".join(outcomes))
            if not recovered:
                failures.append(f"no socket received a push within {RECOVERY_SECONDS:.0f} s of Redis being back")
        if recovered:
            notes.append(recovered)
        await old.close()
        await new.close()
        after = c.tracebacks(web.text()[offset + len(during):])
        if after:
            notes.append(f"tracebacks after Redis was back: {c.summarise(after)}")
        return captures


def run(quick: bool) -> dict:
    outage = 10.0 if quick else 30.0
    failures, notes = [], []
    with c.time_limit(170):
        try:
            s = c.scratch()
            c.reset(s)
            user = c.webhook_agent(s)
            c.set_status(s, [user], "online")  # no router runs: nothing is offered
            web = c.spawn_web("daphne-redis")
            n = int(outage * 2) + 2
            requests, sids = c.capture_requests(s, f"http://127.0.0.1:{web.port}", n)
            voice = [c.wh.incoming_request(s, False) for _ in range(n)]
            cookie = session_cookie(user)
            captures = asyncio.run(drill(s, web, user, cookie, requests, voice, outage, failures, notes))
            if not web.alive():
                failures.append("the web process exited")
            stored_by_sid = c.confirmed_for(s, sids)
            acked = [sids[x.index // 2] for x in captures if c.wh.ok_capture(x.status or 0, x.text)]
            stored = sum(1 for sid in acked if stored_by_sid.get(sid))
            duplicates = sum(k - 1 for k in stored_by_sid.values() if k > 1) + c.duplicate_numbers(s)
            return c.result(NAME, acknowledged=len(acked), stored=stored, lost=len(acked) - stored,
                            duplicates=duplicates, failures=failures, notes=notes)
        finally:
            c.stop_all()
            if c.REDIS.process is None and c._depth[0] > 0:
                c.REDIS.start()  # the next drill expects it


if __name__ == "__main__":
    c.main(sys.modules[__name__])
