"""The call simulator: plays the telephony provider (SPEC O1, DESIGN "Telephony gateways").

It POSTs form-encoded, signed webhooks exactly as Twilio documents them and
interprets the TwiML it gets back, verb by verb, refusing a verb the provider
would refuse in that context (C11). Time only moves when the person or test
driving it acts: ``press``, ``silence``, ``wait`` (one more turn of the hold
loop) or ``hangup``. Its whole state is JSON, so a call can live across page
requests (``to_state`` / ``from_state``).
"""
from __future__ import annotations

import secrets
import time
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from typing import Protocol
from urllib.parse import urlencode, urljoin

from twilio.request_validator import RequestValidator

IDEMPOTENCY_HEADER = "I-Twilio-Idempotency-Token"

API_VERSION = "2010-04-01"

# Verbs Twilio accepts in each context (its TwiML reference): a queue's wait
# document may only hold these seven, a Gather only speech and pauses.
ALLOWED_VERBS: dict[str, frozenset[str]] = {
    "call": frozenset({"Say", "Play", "Pause", "Gather", "Enqueue", "Redirect", "Dial", "Hangup", "Reject", "Record"}),
    "wait": frozenset({"Play", "Say", "Pause", "Hangup", "Redirect", "Leave", "Gather"}),
    "gather": frozenset({"Say", "Play", "Pause"}),
}
RECORDED_SECONDS = 2  # what the simulated caller says at a <Record>: a generated clip (callsim.audio)
MAX_REDIRECTS = 20  # a Redirect loop with no input is a bug in the answer, not a call


def dial_policy(target: str) -> tuple[str, int]:
    """How a dialled party behaves, by the last digits of its number (the demo's script):
    ...0486 is busy, ...0404 does not answer, ...0500 fails; anyone else answers and
    talks for 42 seconds."""
    digits = "".join(ch for ch in target if ch.isdigit())
    if digits.endswith("0486"):
        return "busy", 0
    if digits.endswith("0404"):
        return "no-answer", 0
    if digits.endswith("0500"):
        return "failed", 0
    return "completed", 42


class TwiMLError(Exception):
    """The product answered something the provider would refuse."""


class Transport(Protocol):
    def post(self, url: str, params: dict[str, str], headers: dict[str, str]) -> tuple[int, str]: ...


def new_sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


@dataclass
class PendingGather:
    action: str
    method: str
    num_digits: int | None
    finish_on_key: str
    timeout: int
    context: str
    rest: str  # the remaining verbs of the document, as XML, run on timeout
    base_url: str
    action_on_empty_result: bool = False
    typed: str = ""


@dataclass
class QueueState:
    name: str
    sid: str
    wait_url: str
    wait_method: str
    action: str | None
    action_method: str
    entered_at: float


@dataclass
class SimulatedCall:
    """One call as the provider sees it. ``transcript`` is what the caller heard and did."""

    account_sid: str
    auth_token: str
    voice_url: str
    status_callback_url: str | None
    from_: str
    to: str
    call_sid: str = field(default_factory=lambda: new_sid("CA"))
    direction: str = "inbound"
    status: str = "ringing"
    started_at: float = field(default_factory=time.time)
    context: str = "call"
    pending: PendingGather | None = None
    queue: QueueState | None = None
    transcript: list[dict] = field(default_factory=list)
    sequence: int = 0

    # --- persistence ---------------------------------------------------------
    def to_state(self) -> dict:
        return asdict(self)

    @classmethod
    def from_state(cls, state: dict) -> SimulatedCall:
        state = dict(state)
        pending = state.pop("pending")
        queue = state.pop("queue")
        call = cls(**state)
        call.pending = PendingGather(**pending) if pending else None
        call.queue = QueueState(**queue) if queue else None
        return call

    # --- what a caller does ---------------------------------------------------
    def dial(self, transport: Transport) -> None:
        """The call arrives: request the line's voice URL and play its answer."""
        if self.status != "ringing":
            raise TwiMLError("this call was already placed")
        self.status = "in-progress"
        self._note("dial", f"{self.from_} calls {self.to}")
        # Inbound, Twilio's first request says "ringing" (the TwiML answers); outbound, the
        # called party has answered.
        first = "ringing" if self.direction == "inbound" else "in-progress"
        self._request_and_run(transport, self.voice_url, "POST", {"CallStatus": first}, "call")

    def press(self, transport: Transport, keys: str) -> None:
        """The caller presses keys; only a waiting Gather hears them (as on a real line)."""
        self._require_live()
        for key in keys:
            if self.status != "in-progress":
                return
            gather = self.pending
            if gather is None:
                self._note("ignored-key", key)
                continue
            if key == gather.finish_on_key:
                self._submit_gather(transport, gather, finished_on_key=key)
                continue
            gather.typed += key
            if gather.num_digits is not None and len(gather.typed) >= gather.num_digits:
                self._submit_gather(transport, gather, finished_on_key="")

    def silence(self, transport: Transport) -> None:
        """The caller stays silent until the waiting Gather times out."""
        self._require_live()
        gather = self.pending
        if gather is None:
            return self.wait(transport)
        self.pending = None
        if gather.typed or gather.action_on_empty_result:
            self.pending = gather
            return self._submit_gather(transport, gather, finished_on_key="")
        self._note("timeout", f"no input after {gather.timeout}s")
        self._run(transport, gather.rest, gather.base_url, gather.context)

    def wait(self, transport: Transport) -> None:
        """One more turn of the queue's hold loop (Twilio re-requests the wait URL)."""
        self._require_live()
        if self.pending is not None:
            return self.silence(transport)
        if self.queue is None:
            return
        self._request_wait(transport)

    def redirect(self, transport: Transport, url: str) -> None:
        """The provider was told to fetch new TwiML for this call (a REST redirect)."""
        self._require_live()
        self.pending = None
        if self.queue is not None:
            self._leave_queue(transport, "redirected", run_answer=False)
        self._note("redirected", url)
        self._request_and_run(transport, url, "POST", {}, "call")

    def hangup(self, transport: Transport) -> None:
        """The caller hangs up, wherever the call is."""
        if self.status != "in-progress":
            return
        self._note("caller-hangup", "")
        self.pending = None
        if self.queue is not None:
            self._leave_queue(transport, "hangup", run_answer=False)
        self._complete(transport, "completed")

    # --- interpretation -------------------------------------------------------
    def _run(self, transport: Transport, document: str, base_url: str, context: str, depth: int = 0) -> None:
        root = self._parse(document)
        verbs = list(root)
        for index, verb in enumerate(verbs):
            if self.status != "in-progress":
                return
            name = verb.tag
            if name not in ALLOWED_VERBS[context]:
                raise TwiMLError(f"<{name}> is not allowed in the {context} context")
            if name in ("Say", "Play", "Pause"):
                self._speak(verb)
            elif name == "Gather":
                rest = self._document(verbs[index + 1:])
                return self._start_gather(verb, rest, base_url, context)
            elif name == "Enqueue":
                return self._enqueue(transport, verb, base_url)
            elif name == "Leave":
                return self._leave_queue(transport, "leave", run_answer=True)
            elif name == "Redirect":
                if depth >= MAX_REDIRECTS:
                    raise TwiMLError("too many Redirects without caller input")
                url = urljoin(base_url, (verb.text or "").strip())
                return self._request_and_run(transport, url, verb.get("method", "POST"), {}, context, depth + 1)
            elif name == "Dial":
                if self._dial(transport, verb, base_url, depth):
                    return
            elif name == "Record":
                if self._record(transport, verb, base_url, depth):
                    return
            elif name in ("Hangup", "Reject"):
                self._note(name.lower(), "")
                if self.queue is not None:
                    self._leave_queue(transport, "hangup", run_answer=False)
                return self._complete(transport, "completed" if name == "Hangup" else "busy")
        if self.status == "in-progress" and context == "call" and self.queue is None:
            # Twilio ends a call whose document runs out.
            self._note("end-of-document", "")
            self._complete(transport, "completed")
        elif context == "wait":
            self._note("hold", "the wait document ended; Twilio plays it again")

    def _dial(self, transport: Transport, verb: ET.Element, base_url: str, depth: int) -> bool:
        """Connect to another party; ``dial_policy`` decides how that party answers.

        Returns True when the Dial's action took over the call (its answer was run).
        """
        nouns = [child for child in verb if child.tag in ("Number", "Sip", "Client", "Queue")]
        target = (nouns[0].text or "").strip() if nouns else (verb.text or "").strip()
        status, seconds = dial_policy(target)
        self._note("dial-out", target, result=status, seconds=str(seconds))
        action = verb.get("action")
        if not action:
            return False
        params = {"DialCallStatus": status, "DialCallSid": new_sid("CA"), "DialCallDuration": str(seconds)}
        self._request_and_run(transport, urljoin(base_url, action), verb.get("method", "POST").upper(), params, "call", depth + 1)
        return True

    def _record(self, transport: Transport, verb: ET.Element, base_url: str, depth: int) -> bool:
        """The caller speaks for a moment after the beep, then stays silent: as Twilio does,
        the action gets the recording and its answer runs, then the recording status
        callback says the file is ready. Returns True when the action took over the call.
        Without an action, the next verbs run (Twilio would fetch this document again)."""
        recording_sid = new_sid("RE")
        if verb.get("playBeep", "true") == "true":
            self._note("beep", "")
        self._note("record", "the caller says their name and reason", recording=recording_sid,
                   seconds=str(RECORDED_SECONDS))
        url = f"https://api.twilio.com/{API_VERSION}/Accounts/{self.account_sid}/Recordings/{recording_sid}"
        recording = {"RecordingSid": recording_sid, "RecordingUrl": url, "RecordingDuration": str(RECORDED_SECONDS)}
        action = verb.get("action")
        if action:
            self._request_and_run(transport, urljoin(base_url, action), verb.get("method", "POST").upper(),
                                  recording, "call", depth + 1)
        status_url = verb.get("recordingStatusCallback")
        if status_url and "completed" in verb.get("recordingStatusCallbackEvent", "completed").split():
            self._request(transport, urljoin(base_url, status_url), verb.get("recordingStatusCallbackMethod", "POST").upper(),
                          {**recording, "RecordingStatus": "completed", "RecordingChannels": "1",
                           "RecordingSource": "RecordVerb"})
        return bool(action)

    def _speak(self, verb: ET.Element) -> None:
        if verb.tag == "Say":
            self._note("say", (verb.text or "").strip(), language=verb.get("language", "en-US"),
                       voice=verb.get("voice", ""), loop=verb.get("loop", "1"))
        elif verb.tag == "Play":
            self._note("play", (verb.text or "").strip(), loop=verb.get("loop", "1"))
        else:
            self._note("pause", verb.get("length", "1"))

    def _start_gather(self, verb: ET.Element, rest: str, base_url: str, context: str) -> None:
        for child in verb:
            if child.tag not in ALLOWED_VERBS["gather"]:
                raise TwiMLError(f"<{child.tag}> is not allowed inside <Gather>")
            self._speak(child)
        num_digits = verb.get("numDigits")
        self.pending = PendingGather(
            action=urljoin(base_url, verb.get("action", base_url)),
            method=verb.get("method", "POST").upper(),
            num_digits=int(num_digits) if num_digits else None,
            finish_on_key=verb.get("finishOnKey", "#"),
            timeout=int(verb.get("timeout", "5")),
            context=context,
            rest=rest,
            base_url=base_url,
            action_on_empty_result=verb.get("actionOnEmptyResult", "false") == "true",
        )
        self._note("gather", "waiting for keys", numDigits=num_digits or "", finishOnKey=self.pending.finish_on_key)

    def _submit_gather(self, transport: Transport, gather: PendingGather, finished_on_key: str) -> None:
        self.pending = None
        self._note("keys", gather.typed + finished_on_key)
        params = {"Digits": gather.typed}
        if finished_on_key:
            params["FinishedOnKey"] = finished_on_key
        self._request_and_run(transport, gather.action, gather.method, params, gather.context)

    def _enqueue(self, transport: Transport, verb: ET.Element, base_url: str) -> None:
        name = (verb.text or "").strip()
        if not name or len(name) > 64:
            raise TwiMLError("<Enqueue> needs a queue name of 1 to 64 characters")
        action = verb.get("action")
        wait_url = verb.get("waitUrl")
        if not wait_url:
            raise TwiMLError("<Enqueue> without waitUrl would play Twilio's default music")
        self.queue = QueueState(
            name=name,
            sid=new_sid("QU"),
            wait_url=urljoin(base_url, wait_url),
            wait_method=verb.get("waitUrlMethod", "POST").upper(),
            action=urljoin(base_url, action) if action else None,
            action_method=verb.get("method", "POST").upper(),
            entered_at=time.time(),
        )
        self._note("enqueue", name)
        self._request_wait(transport)

    def _request_wait(self, transport: Transport) -> None:
        queue = self.queue
        assert queue is not None
        params = {
            "QueueSid": queue.sid,
            "QueuePosition": "1",
            "QueueTime": str(int(time.time() - queue.entered_at)),
            "AvgQueueTime": "0",
            "CurrentQueueSize": "1",
            "MaxQueueSize": "1000",
        }
        self._request_and_run(transport, queue.wait_url, queue.wait_method, params, "wait")

    def _leave_queue(self, transport: Transport, result: str, *, run_answer: bool) -> None:
        queue = self.queue
        assert queue is not None
        self.queue = None
        self.pending = None
        self._note("dequeue", result)
        if queue.action is None:
            return
        params = {"QueueResult": result, "QueueSid": queue.sid, "QueueTime": str(int(time.time() - queue.entered_at))}
        if run_answer:
            self._request_and_run(transport, queue.action, queue.action_method, params, "call")
        else:
            self._request(transport, queue.action, queue.action_method, params)

    def _complete(self, transport: Transport, status: str) -> None:
        if self.status != "in-progress":
            return
        self.status = status
        self.pending = None
        self.queue = None
        self._note("ended", status)
        if self.status_callback_url:
            duration = max(0, int(time.time() - self.started_at))
            self.sequence += 1
            self._request(
                transport,
                self.status_callback_url,
                "POST",
                {
                    "CallDuration": str(duration),
                    "Duration": str((duration + 59) // 60),
                    "Timestamp": time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime()),
                    "CallbackSource": "call-progress-events",
                    "SequenceNumber": str(self.sequence - 1),
                },
            )

    # --- HTTP -----------------------------------------------------------------
    def base_params(self) -> dict[str, str]:
        return {
            "AccountSid": self.account_sid,
            "ApiVersion": API_VERSION,
            "CallSid": self.call_sid,
            "CallStatus": self.status,
            "Called": self.to,
            "Caller": self.from_,
            "Direction": self.direction,
            "From": self.from_,
            "To": self.to,
        }

    def _request(self, transport: Transport, url: str, method: str, extra: dict[str, str]) -> str:
        params = {**self.base_params(), **extra}
        if method == "GET":
            url = url + ("&" if "?" in url else "?") + urlencode(params)
            params = {}
        signature = RequestValidator(self.auth_token).compute_signature(url, params)
        # Each request its own idempotency token, as Twilio sends one (a retry repeats it).
        headers = {"X-Twilio-Signature": signature, IDEMPOTENCY_HEADER: secrets.token_hex(16)}
        status, body = transport.post(url, params, headers)
        if status != 200:
            raise TwiMLError(f"{url} answered HTTP {status}")
        return body

    def _request_and_run(
        self, transport: Transport, url: str, method: str, extra: dict[str, str], context: str, depth: int = 0
    ) -> None:
        body = self._request(transport, url, method, extra)
        self._run(transport, body, url, context, depth)

    @staticmethod
    def _parse(document: str) -> ET.Element:
        try:
            root = ET.fromstring(document)
        except ET.ParseError as error:
            raise TwiMLError(f"not XML: {error}") from None
        if root.tag != "Response":
            raise TwiMLError(f"the root element is <{root.tag}>, not <Response>")
        return root

    @staticmethod
    def _document(verbs: list[ET.Element]) -> str:
        root = ET.Element("Response")
        root.extend(verbs)
        return ET.tostring(root, encoding="unicode")

    def _require_live(self) -> None:
        if self.status != "in-progress":
            raise TwiMLError(f"the call is {self.status}")

    def _note(self, kind: str, text: str, **detail: str) -> None:
        self.transcript.append({"kind": kind, "text": text, **detail})

    # --- reading the transcript -------------------------------------------------
    def said(self) -> list[str]:
        return [entry["text"] for entry in self.transcript if entry["kind"] == "say"]

    @property
    def in_queue(self) -> bool:
        return self.queue is not None
