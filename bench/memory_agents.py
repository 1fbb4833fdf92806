"""The memory bench's agents (bench/memory.py): a thread per agent of the scratch account that
accepts its callback offers and, once the dialer has placed the call, plays the provider's
callback webhooks; and the wait until they have caught up.

The product is imported inside the functions, after ``webhook_setup.django_ready()``.
"""
from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request

from bench.memory_account import member_ids
from bench.memory_calls import Answers, expecting
from bench.webhook_requests import REQUEST_TIMEOUT, hook, new_sid, sign
from bench.webhook_setup import TWILIO_SID, Scratch

SETTLE_SECONDS = 60.0  # at most, for the callbacks still being served before a sample


# --- the agents ----------------------------------------------------------------------
class Agent(threading.Thread):
    """One agent: accept its callback offers; play the provider's callback webhooks once the
    dialer placed its call. One thread per agent, so the agents keep up with the captures."""

    def __init__(self, base: str, s: Scratch, answers: Answers, agent_id: int, stop: threading.Event) -> None:
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
            params = {"CallSid": sid, "AccountSid": TWILIO_SID, "Direction": "outbound-api",
                      "From": "+14155550142", "To": "client:agent"}
            ok = self._post("cb-agent", hook(self.s, "callback/agent") + query, "<Dial",
                            {**params, "CallStatus": "in-progress"})
            ok = ok and self._post("cb-dial-done", hook(self.s, "callback/dial-done") + query, "callback has ended",
                                   {**params, "CallStatus": "in-progress", "DialCallStatus": "completed",
                                    "DialCallDuration": "42", "DialCallSid": new_sid()})
            self._post("cb-agent-status", hook(self.s, "callback/agent-status") + query, "<Response",
                       {**params, "CallStatus": "completed", "CallDuration": "45"})
            self.completed += ok
        return len(placed)

    def _post(self, kind: str, path: str, needle: str, params: dict[str, str]) -> bool:
        result = self.answers.slice(kind)
        request_path, body, headers = sign(path, params)
        try:
            request = urllib.request.Request(self.base + request_path, data=body, headers=headers, method="POST")
            with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:
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

    def __init__(self, base: str, s: Scratch, answers: Answers) -> None:
        self.stop = threading.Event()
        self.threads = [Agent(base, s, answers, agent_id, self.stop) for agent_id in member_ids(s.account)]

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


def settle(s: Scratch, agents: Agents, seconds: float = SETTLE_SECONDS) -> bool:
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
