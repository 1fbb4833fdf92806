"""The memory bench's calls (bench/memory.py): each one through the real, signed webhooks
(voice, wait, one in ``CAPTURE_EVERY`` asking for a callback and confirming it, status),
``CONCURRENCY`` in flight, and the count of their answers by webhook."""
from __future__ import annotations

import asyncio
import html
import re
import sys
import threading
import time

import aiohttp

from bench.webhook_load import Slice, _post
from bench.webhook_requests import REQUEST_TIMEOUT, call_params, hook, new_sid, ok_capture, sign
from bench.webhook_setup import PUBLIC_BASE_URL, Scratch

CONCURRENCY = 12  # calls in flight
CAPTURE_EVERY = 5  # one call in five asks for a callback and confirms it
APOLOGY_TEXT = "cannot take your call"


# --- answers -------------------------------------------------------------------------
class Answers:
    """Requests per webhook kind, and what was wrong with the bad ones (a Slice of the webhook bench counts them)."""

    def __init__(self) -> None:
        self.by_kind: dict[str, Slice] = {}
        self.lock = threading.Lock()

    def slice(self, kind: str) -> Slice:
        with self.lock:
            return self.by_kind.setdefault(kind, Slice(kind))

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
    return action.removeprefix(PUBLIC_BASE_URL)


def caller_number(i: int) -> str:
    return f"+1415{3100000 + i}"  # each call its own number: one pending request per number (C7)


# --- the calls -----------------------------------------------------------------------
async def one_call(session, base: str, s: Scratch, i: int, answers: Answers) -> None:
    sid, caller = new_sid(), caller_number(i)

    async def post(kind: str, path: str, check, **extra: str) -> bool:
        result = answers.slice(kind)
        before = result.good
        await _post(session, base, sign(path, call_params(sid, caller, **extra)), check, result)
        return result.good > before

    await post("voice", hook(s, "voice"), expecting("<Enqueue"), CallStatus="ringing")
    await post("wait", hook(s, "wait"), expecting("<Pause"), QueueTime="0")
    if i % CAPTURE_EVERY == 0:
        seen: dict = {}
        if await post("hold-key", hook(s, "hold-key"), expecting("/menu/", seen), Digits=s.key):
            menu = action_of(seen["text"])
            if menu and await post("menu", menu, expecting("/confirm/", seen), Digits="1"):
                confirm = action_of(seen["text"])
                if confirm:
                    await post("confirm", confirm, ok_capture, Digits="1")
    await post("status", hook(s, "status"), expecting("<Response"), CallStatus="completed", CallDuration="3")


async def drive_calls(base: str, s: Scratch, first: int, count: int, answers: Answers,
                      milestones: dict[int, callable] | None = None) -> float:
    """``count`` calls, numbered from ``first``, ``CONCURRENCY`` at a time; calls each
    milestone's function (a sample) when that many calls of this batch have ended."""
    milestones = dict(milestones or {})
    done = [0]
    next_index = [first]
    end = first + count
    started = time.monotonic()
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)) as session:
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
