"""The demo's carrier: outbound calls are played by the call simulator (SPEC O1).

The called party answers at once (an agent's device in the demo), the answer
URL's TwiML runs, and a Dial reaches the customer as ``engine.dial_policy``
says. Everything goes through the same signed webhooks Twilio would call.
Talk reaches this class only by its path, ``settings.TALK_SIMULATOR_GATEWAY``
(``talk.telephony.gateway_for``).
"""
from __future__ import annotations

from typing import Callable

from callsim.audio import clip
from callsim.engine import SimulatedCall, Transport, TwiMLError, new_sid
from callsim.runner import simulator_call_redirect
from callsim.transports import HttpTransport
from talk.telephony.base import GatewayError, OutboundCall

# The seam tests use to route the simulator's requests through Django's test client.
transport_factory: Callable[[], Transport] = HttpTransport


class SimulatorGateway:
    def __init__(self, *, auth_token: str, account=None, transport: Transport | None = None):
        self.auth_token = auth_token
        self.account = account
        self.transport = transport or transport_factory()

    def place_call(self, call: OutboundCall) -> str:
        simulated = SimulatedCall(
            account_sid="AC" + "0" * 32, auth_token=self.auth_token, voice_url=call.url,
            status_callback_url=call.status_callback, from_=call.from_, to=call.to,
            call_sid=new_sid("CA"), direction="outbound-api",
        )
        try:
            simulated.dial(self.transport)
            simulated.hangup(self.transport)  # the agent hangs up once the document is done
        except TwiMLError as error:
            raise GatewayError(f"The simulated call failed: {error}", retryable=False) from error
        except OSError as error:  # the carrier could not be reached (refused, reset): try again later
            raise GatewayError(f"The simulated carrier could not be reached: {error}", retryable=True) from error
        return simulated.call_sid

    def redirect_call(self, *, call_sid: str, url: str) -> None:
        """A call placed from the simulator page leaves the queue for ``url``."""
        if self.account is not None:
            simulator_call_redirect(account=self.account, call_sid=call_sid, url=url, transport=self.transport)

    def end_call(self, *, call_sid: str) -> None:
        """Simulated calls end when the person in the simulator hangs up."""

    def recording_fetch(self, *, recording_sid: str) -> bytes:
        """The simulator's recordings are generated from their id (callsim.audio)."""
        if not recording_sid.startswith("RE"):
            raise GatewayError(f"{recording_sid!r} is not a recording of the simulator.", retryable=False)
        return clip(recording_sid)

    def recording_delete(self, *, recording_sid: str) -> None:
        """Nothing is kept on the simulator's side."""
