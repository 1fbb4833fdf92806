"""The product's dialer (talk.dialer) in its own process, with the fake carrier of bench/drain_worker.py.

    python -m bench.faults.dialer_proc --log FILE [--refuse K] [--provider-ms 100] [--threads 4]

Every call the carrier is asked to place is written to ``--log`` (one line, written before
the carrier's answer is returned to the dialer): ``<time> placed <attempt id> <sid> <pid>``.
With ``--refuse K`` the first K requests of this process are refused as a carrier that
cannot be reached is (``GatewayError(..., retryable=True)``): ``<time> refused <attempt> - <pid>``.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--log", required=True)
    parser.add_argument("--refuse", type=int, default=0)
    parser.add_argument("--provider-ms", type=float, default=100.0)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()

    import django

    django.setup()

    from bench.drain_worker import install_carrier
    from talk.dialer import Dialer
    from talk.services import callback_calls
    from talk.telephony import GatewayError

    install_carrier(args.provider_ms)
    fake = callback_calls.gateway_for
    fd = os.open(args.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    lock = threading.Lock()
    refusals = [args.refuse]

    def write(event: str, attempt: int, sid: str) -> None:
        os.write(fd, f"{time.time():.6f} {event} {attempt} {sid} {os.getpid()}\n".encode())

    class RecordingCarrier:
        def __init__(self, inner) -> None:
            self.inner = inner

        def place_call(self, call) -> str:
            attempt = int(parse_qs(urlsplit(call.url).query)["a"][0])  # the attempt's id, in its URLs
            with lock:
                refuse = refusals[0] > 0
                refusals[0] -= refuse
            if refuse:
                write("refused", attempt, "-")
                raise GatewayError("the carrier refused the connection (fault drill)", retryable=True)
            sid = self.inner.place_call(call)
            write("placed", attempt, sid)
            return sid

        def redirect_call(self, *, call_sid: str, url: str) -> None:
            self.inner.redirect_call(call_sid=call_sid, url=url)

        def end_call(self, *, call_sid: str) -> None:
            self.inner.end_call(call_sid=call_sid)

    callback_calls.gateway_for = lambda account: RecordingCarrier(fake(account))

    dialer = Dialer(threads=args.threads)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: dialer.shutdown())

    def ready() -> None:
        if dialer.listening.wait(60):
            print("dialer listening", flush=True)

    threading.Thread(target=ready, daemon=True).start()
    dialer.run()
    print("dialer stopped", flush=True)


if __name__ == "__main__":
    main()
