"""The webhook bench's load (bench/webhooks.py): a closed loop (a fixed number of clients, each
sending as soon as it has its answer) and an open loop (start times fixed in advance, latency
from the scheduled start: no coordinated omission), each giving a ``Slice`` of answers and
latencies, with the CPU shares of client and server and the database connections the server
opened meanwhile."""
from __future__ import annotations

import asyncio
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import psutil

from bench.webhook_requests import REQUEST_TIMEOUT
from bench.webhook_setup import connections_opened

CONCURRENCY = 16  # closed-loop clients
OPEN_LOOP_CONNECTIONS = 64  # at most this many requests in flight in the open loop (PostgreSQL allows 100 clients)


# --- load -------------------------------------------------------------------------
@dataclass
class Slice:
    kind: str
    latencies: list[float] = field(default_factory=list)  # seconds
    statuses: dict[str, int] = field(default_factory=dict)  # anything but a good answer: count by status
    good: int = 0
    elapsed: float = 0.0
    client_cpu: float = 0.0  # share of one core
    server_cpu: float = 0.0
    lag_max: float = 0.0  # open loop: latest start past its schedule
    connections: int = 0  # database connections the server opened during the slice

    @property
    def sent(self) -> int:
        return self.good + sum(self.statuses.values())

    @property
    def throughput(self) -> float:
        return self.good / self.elapsed if self.elapsed else 0.0

    def bad(self, key: str) -> None:
        self.statuses[key] = self.statuses.get(key, 0) + 1


async def _post(session, base: str, request, check, result: Slice) -> None:
    path, body, headers = request
    try:
        async with session.post(base + path, data=body, headers=headers, allow_redirects=False) as response:
            text = await response.text()
            status = response.status
    except asyncio.TimeoutError:
        result.bad("timeout")
        return
    except Exception as error:  # noqa: BLE001 - counted, not raised: the slice goes on
        result.bad(type(error).__name__)
        return
    if check(status, text):
        result.good += 1
    else:
        result.bad(str(status) if status != 200 else "200, unexpected TwiML")


async def closed_loop(base: str, make_request, check, seconds: float, kind: str) -> Slice:
    result = Slice(kind)
    loop = asyncio.get_running_loop()
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)) as session:
        start = loop.time()
        end = start + seconds

        async def client() -> None:
            while loop.time() < end:
                request = make_request()
                began = loop.time()
                await _post(session, base, request, check, result)
                result.latencies.append(loop.time() - began)

        await asyncio.gather(*(client() for _ in range(CONCURRENCY)))
        result.elapsed = loop.time() - start
    return result


async def open_loop(base: str, requests: list, check, rate: float, kind: str) -> Slice:
    """Start request i at ``start + i / rate`` whatever happened before; latency from that time."""
    result = Slice(kind)
    loop = asyncio.get_running_loop()
    connector = aiohttp.TCPConnector(limit=OPEN_LOOP_CONNECTIONS)
    async with aiohttp.ClientSession(connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)) as session:
        start = loop.time() + 0.05

        async def one(request, scheduled: float) -> None:
            await _post(session, base, request, check, result)
            result.latencies.append(loop.time() - scheduled)

        tasks = []
        for i, request in enumerate(requests):
            scheduled = start + i / rate
            delay = scheduled - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                result.lag_max = max(result.lag_max, -delay)
            tasks.append(asyncio.create_task(one(request, scheduled)))
        await asyncio.gather(*tasks)
        result.elapsed = loop.time() - start
    return result


class CpuMeter:
    """CPU seconds of this process and of the server's process tree, as a share of one core."""

    def __init__(self, server_pid: int):
        self.me = psutil.Process()
        self.server = psutil.Process(server_pid)

    def _server_seconds(self) -> float:
        total = 0.0
        for process in [self.server, *self.server.children(recursive=True)]:
            try:
                times = process.cpu_times()
                total += times.user + times.system
            except Exception:  # noqa: BLE001 - a process gone between listing and reading
                pass
        return total

    def __enter__(self):
        times = self.me.cpu_times()
        self.start = (time.monotonic(), times.user + times.system, self._server_seconds())
        return self

    def read(self) -> tuple[float, float]:
        times = self.me.cpu_times()
        wall = time.monotonic() - self.start[0]
        return ((times.user + times.system - self.start[1]) / wall, (self._server_seconds() - self.start[2]) / wall)

    def __exit__(self, *exc):
        return False


def measured(server: subprocess.Popen, conn_dir: Path, coroutine) -> Slice:
    opened = connections_opened(conn_dir)
    with CpuMeter(server.pid) as meter:
        result = asyncio.run(coroutine)
        result.client_cpu, result.server_cpu = meter.read()
    result.connections = connections_opened(conn_dir) - opened
    return result
