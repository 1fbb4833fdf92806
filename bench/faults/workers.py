"""The fault drills' simulated agents and the fake carrier's log (bench/faults/common.py): an
agent thread accepts its offers as the console does and plays the provider's events once the
carrier has placed the call; the log tells what the carrier did, and ``placements`` matches it
against the attempts the database recorded.

Django and the product are imported inside the functions: they need ``django.setup()``,
which ``environment()`` (bench/faults/common.py) runs on the private services.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path


# --- the fake carrier's log (written by bench/faults/dialer_proc.py) --------------------
class CarrierLog:
    """What the fake carrier did: ``<time> placed|refused <attempt id> <call sid> <pid>`` lines."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.write_text("")
        self._lock = threading.Lock()
        self._offset = 0
        self.events: list[tuple[float, str, int, str, int]] = []

    def read(self) -> list[tuple[float, str, int, str, int]]:
        with self._lock:
            with self.path.open("rb") as f:
                f.seek(self._offset)
                chunk = f.read()
            end = chunk.rfind(b"\n") + 1
            self._offset += end
            for line in chunk[:end].decode().splitlines():
                at, event, attempt, sid, pid = line.split()
                self.events.append((float(at), event, int(attempt), sid, int(pid)))
            return list(self.events)

    def placed(self) -> dict[int, list[str]]:
        out: dict[int, list[str]] = {}
        for _at, event, attempt, sid, _pid in self.read():
            if event == "placed":
                out.setdefault(attempt, []).append(sid)
        return out

    def count(self, event: str) -> int:
        return sum(1 for e in self.read() if e[1] == event)


# --- simulated agents: the console's accept, then the provider's events -----------------
class AgentWorker(threading.Thread):
    """One agent: accepts each offer as soon as it is there; with ``finish``, once the fake
    carrier has placed the attempt's call, plays the provider's events (agent answered,
    customer answered, the agent's leg ended) through the services the webhooks call, and
    is free for the next offer."""

    def __init__(self, s, user, carrier: CarrierLog | None, stop: threading.Event, *, finish: bool = True,
                 wait_placed: float = 90.0) -> None:
        super().__init__(daemon=True, name=f"agent-{user.pk}")
        self.s, self.user, self.carrier, self.stop, self.finish = s, user, carrier, stop, finish
        self.wait_placed = wait_placed
        self.accepted: list[int] = []  # callback request ids, in order
        self.errors: list[str] = []

    def run(self) -> None:
        from django.db import DatabaseError, InterfaceError, connection
        from django_scopes import scope

        from supportcenter.errors import ServiceError
        from talk.models import Offer
        from talk.services import offers as offers_service

        try:
            with scope(account=self.s.account):
                while not self.stop.is_set():
                    try:
                        offer = (Offer.objects.filter(account=self.s.account, agent=self.user, state="offered")
                                 .select_related("entry__callback_request").order_by("pk").first())
                        if offer is None:
                            self.stop.wait(0.03)
                            continue
                        try:
                            offers_service.offer_accept(account=self.s.account, offer_id=offer.pk, agent=self.user)
                        except ServiceError:
                            continue
                        request_id = offer.entry.callback_request.pk
                        self.accepted.append(request_id)
                        if self.finish:
                            self._finish(request_id)
                    except (DatabaseError, InterfaceError) as error:
                        self.errors.append(type(error).__name__)
                        connection.close()
                        self.stop.wait(0.3)
        finally:
            connection.close()

    def _finish(self, request_id: int) -> None:
        from talk.models import CallbackAttempt
        from talk.services.callback_requests import (
            callback_agent_answered,
            callback_agent_leg_ended,
            callback_customer_result,
        )

        deadline = time.monotonic() + self.wait_placed
        while not self.stop.is_set() and time.monotonic() < deadline:
            attempt = (CallbackAttempt.objects.filter(account=self.s.account, request_id=request_id)
                       .order_by("-number").first())
            if attempt is not None and attempt.status not in ("queued", "calling_agent"):
                return  # given back or ended meanwhile (the reconciliation)
            if attempt is not None and (attempt.provider_call_sid or attempt.pk in self.carrier.placed()):
                callback_agent_answered(account=self.s.account, attempt=attempt)
                callback_customer_result(account=self.s.account, attempt=attempt, result="completed", seconds=30)
                callback_agent_leg_ended(account=self.s.account, attempt_id=attempt.pk, status="completed")
                return
            self.stop.wait(0.05)


def placements(s, carrier: CarrierLog, accepted: set[int]) -> dict:
    """Each accepted request's attempts and the calls the carrier placed for them."""
    from django_scopes import scopes_disabled

    from talk.models import CallbackAttempt, CallbackRequest

    placed = carrier.placed()
    with scopes_disabled():
        attempts = list(CallbackAttempt.objects.filter(account=s.account).values(
            "pk", "request_id", "status", "provider_call_sid", "number"))
        numbers = list(CallbackRequest.objects.filter(account=s.account).values_list("number", flat=True))
    by_request: dict[int, list[dict]] = {}
    for a in attempts:
        by_request.setdefault(a["request_id"], []).append(a)
    stored, lost, extra, mismatched, unrecorded = 0, [], 0, [], []
    attempts_per_request: dict[int, int] = {}
    for request_id in accepted:
        rows = by_request.get(request_id, [])
        attempts_per_request[len(rows)] = attempts_per_request.get(len(rows), 0) + 1
        calls = [(a, sid) for a in rows for sid in placed.get(a["pk"], [])]
        extra += max(0, len(calls) - 1)
        recorded = [a for a, sid in calls if a["provider_call_sid"] == sid]
        for a, sid in calls:
            if a["provider_call_sid"] and a["provider_call_sid"] != sid:
                mismatched.append(a["pk"])
            if not a["provider_call_sid"]:
                unrecorded.append(a["pk"])
        if recorded:
            stored += 1
        else:
            lost.append(request_id)
    same_number = len(numbers) - len(set(numbers))
    return {"stored": stored, "lost": lost, "extra_calls": extra, "same_number": same_number,
            "mismatched": mismatched, "unrecorded": unrecorded, "attempts_per_request": attempts_per_request,
            "placed_total": sum(len(v) for v in placed.values())}
