"""The production carrier, through the official ``twilio`` REST client."""
from __future__ import annotations

import re

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http import HttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from talk.telephony.base import GatewayError, OutboundCall

STATUS_EVENTS = ["initiated", "ringing", "answered", "completed"]

# The seam tests use to put a fake Twilio cloud under the real client (None: the network).
http_client_factory = None
# The seam tests use to put a fake Twilio media host under the recordings' download (None: the
# network). The twilio client's HttpClient returns text, so audio is fetched with requests.
media_session_factory = None
MEDIA_URL = "https://api.twilio.com/2010-04-01/Accounts/{account_sid}/Recordings/{recording_sid}.wav"
RECORDING_SID_RE = re.compile(r"^RE[0-9a-fA-F]{32}$")
# A request to Twilio that has not answered by then failed (retried later): well below the
# dialer's lease (talk.dialer.LEASE), so no job is taken again while its call is in flight.
REQUEST_TIMEOUT_SECONDS = 15.0


class TwilioGateway:
    def __init__(self, *, account_sid: str, auth_token: str, http_client: HttpClient | None = None):
        # http_client is the seam the tests use: the real client, a fake transport.
        if http_client is None:
            http_client = http_client_factory() if http_client_factory is not None else TwilioHttpClient(
                timeout=REQUEST_TIMEOUT_SECONDS
            )
        self.client = Client(account_sid, auth_token, http_client=http_client)
        self.account_sid, self.auth_token = account_sid, auth_token

    def place_call(self, call: OutboundCall) -> str:
        try:
            created = self.client.calls.create(
                to=call.to,
                from_=call.from_,
                url=call.url,
                method="POST",
                status_callback=call.status_callback,
                status_callback_method="POST",
                status_callback_event=STATUS_EVENTS,
                timeout=call.timeout_seconds,
            )
        except TwilioRestException as error:
            raise GatewayError(f"Twilio refused the call: {error.msg}", retryable=error.status >= 500) from error
        except TwilioException as error:
            raise GatewayError(f"Twilio could not be reached: {error}", retryable=True) from error
        return created.sid

    def redirect_call(self, *, call_sid: str, url: str) -> None:
        self._update(call_sid, url=url, method="POST")

    def end_call(self, *, call_sid: str) -> None:
        self._update(call_sid, status="completed")

    def _update(self, call_sid: str, **fields) -> None:
        try:
            self.client.calls(call_sid).update(**fields)
        except TwilioRestException as error:
            raise GatewayError(f"Twilio refused the update: {error.msg}", retryable=error.status >= 500) from error
        except TwilioException as error:
            raise GatewayError(f"Twilio could not be reached: {error}", retryable=True) from error

    def recording_fetch(self, *, recording_sid: str) -> bytes:
        """The recording's WAV, from the URL Twilio documents for it (never one a request named)."""
        if not RECORDING_SID_RE.match(recording_sid):
            raise GatewayError(f"{recording_sid!r} is not a Twilio recording id.", retryable=False)
        session = media_session_factory() if media_session_factory is not None else requests.Session()
        url = MEDIA_URL.format(account_sid=self.account_sid, recording_sid=recording_sid)
        try:
            response = session.get(url, auth=(self.account_sid, self.auth_token), timeout=REQUEST_TIMEOUT_SECONDS)
        except requests.RequestException as error:
            raise GatewayError(f"Twilio could not be reached: {error}", retryable=True) from error
        if response.status_code == 200:
            return response.content
        # 404: not processed yet (the action can come first); 429 and 5xx: later. Else refused.
        retryable = response.status_code in (404, 429) or response.status_code >= 500
        raise GatewayError(f"Twilio answered HTTP {response.status_code} for the recording.", retryable=retryable)

    def recording_delete(self, *, recording_sid: str) -> None:
        try:
            self.client.recordings(recording_sid).delete()
        except TwilioRestException as error:
            if error.status == 404:
                return  # already gone
            raise GatewayError(f"Twilio refused to delete the recording: {error.msg}", retryable=error.status >= 500) from error
        except TwilioException as error:
            raise GatewayError(f"Twilio could not be reached: {error}", retryable=True) from error
