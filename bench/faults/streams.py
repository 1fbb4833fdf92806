"""The webhook requests of the fault drills (bench/faults/common.py): captures signed as the
provider signs them, sent as an open-loop stream over several web processes (with the
provider's retries to the next one), and the answers they got."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import aiohttp

from bench.webhook_requests import call_params, confirming_calls, confirming_template, sign


# --- HTTP -------------------------------------------------------------------------------------
def capture_requests(s, base: str, n: int) -> tuple[list[tuple[str, bytes, dict]], list[str]]:
    """``n`` calls at the confirmation (bench/webhook_requests.py), and their signed ``/confirm/`` (Digits=1)."""
    confirm_path = confirming_template(base, s)
    calls = confirming_calls(s, n)
    return ([sign(confirm_path, call_params(sid, number, Digits="1")) for sid, number in calls],
            [sid for sid, _number in calls])


@dataclass
class Answer:
    index: int
    scheduled: float  # seconds from the stream's start
    status: int | None = None  # the last try's HTTP status; None: no answer (connection error, time-out)
    text: str = ""
    latency: float = 0.0  # from the scheduled start to the final answer (or giving up)
    tries: list[str] = field(default_factory=list)  # "<port>:<status or error>" per try

    @property
    def retried(self) -> bool:
        return len(self.tries) > 1


async def stream(bases: list[str], requests: list, rate: float, *, timeout: float, failover: bool,
                 events: list[tuple[float, object]] = (), max_tries: int = 4, clock: dict | None = None) -> list[Answer]:
    """Open loop: request i starts at ``i / rate`` s on ``bases[i % len(bases)]``. With ``failover``,
    a request without an answer (connection refused or reset, time-out) or with a 5xx is sent again,
    the same signed request, to the next base (as the provider retries). ``events``: (seconds, function)
    run in a thread at that time of the stream (a kill, a restart). ``clock["start"]``: the stream's
    time zero, on ``time.monotonic()``."""
    loop = asyncio.get_running_loop()
    answers = [Answer(i, i / rate) for i in range(len(requests))]
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64, force_close=False),
                                     timeout=aiohttp.ClientTimeout(total=timeout)) as session:
        start = loop.time() + 0.05  # the loop's clock is time.monotonic()
        if clock is not None:
            clock["start"] = start

        async def one(i: int) -> None:
            path, body, headers = requests[i]
            answer = answers[i]
            for attempt in range(max_tries if failover else 1):
                base = bases[(i + attempt) % len(bases)]
                port = base.rsplit(":", 1)[1]
                try:
                    async with session.post(base + path, data=body, headers=headers, allow_redirects=False) as response:
                        answer.status, answer.text = response.status, await response.text()
                        answer.tries.append(f"{port}:{response.status}")
                        if response.status < 500:
                            break
                except (TimeoutError, aiohttp.ClientError, OSError) as error:
                    answer.status, answer.text = None, type(error).__name__
                    answer.tries.append(f"{port}:{type(error).__name__}")
                if failover:
                    await asyncio.sleep(0.1)
            answer.latency = loop.time() - (start + answer.scheduled)

        async def event(at: float, function) -> None:
            await asyncio.sleep(max(0.0, start + at - loop.time()))
            await loop.run_in_executor(None, function)

        pending = [asyncio.create_task(event(at, function)) for at, function in events]
        for i in range(len(requests)):
            delay = start + i / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            pending.append(asyncio.create_task(one(i)))
        await asyncio.gather(*pending)
    return answers


def is_apology(text: str) -> bool:
    return "cannot take your call" in text
