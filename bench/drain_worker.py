"""The provider-call side of bench/drain.py, in its own process, with a fake carrier.

    python bench/drain_worker.py dialer --threads 4 --provider-ms 100
    python bench/drain_worker.py qcluster --provider-ms 100

The carrier answers each request after ``--provider-ms`` (Twilio's API answers in a
few hundred ms) and names the call ``CAbench<ns>``: the time the call was placed,
read back by the bench. ``dialer`` runs the product's dialer; ``qcluster`` runs a
django-q2 cluster for the reference path, whose task is ``run_job`` below.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import django_setup  # noqa: E402


class FakeCarrier:
    delay = 0.0

    def place_call(self, call) -> str:
        time.sleep(self.delay)
        return f"CAbench{time.time_ns()}"

    def redirect_call(self, *, call_sid: str, url: str) -> None:
        time.sleep(self.delay)

    def end_call(self, *, call_sid: str) -> None:
        pass


def install_carrier(delay_ms: float) -> None:
    from talk.services import callback_calls

    FakeCarrier.delay = delay_ms / 1000
    callback_calls.gateway_for = lambda account: FakeCarrier()


def run_job(kind: str, object_id: int) -> None:
    """The reference path's task: the same service a dialer's job runs."""
    from django.utils import timezone

    from talk import dialer

    dialer.RUNNERS[kind](object_id, timezone.now(), False)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["dialer", "qcluster"])
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--provider-ms", type=float, default=100.0)
    args = parser.parse_args()
    django_setup()
    install_carrier(args.provider_ms)
    if args.mode == "dialer":
        import signal

        from talk.dialer import Dialer

        dialer = Dialer(threads=args.threads)
        signal.signal(signal.SIGTERM, lambda *_: dialer.shutdown())
        dialer.run()
    else:
        from django.core.management import call_command

        call_command("qcluster")


if __name__ == "__main__":
    main()
