from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class GatewayError(Exception):
    """The provider refused or could not be reached; ``retryable`` says whether to try again."""

    def __init__(self, message: str, *, retryable: bool):
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class OutboundCall:
    to: str  # E.164 number or SIP URI
    from_: str  # E.164 caller id
    url: str  # TwiML to run when answered
    status_callback: str
    timeout_seconds: int = 30


class Gateway(Protocol):
    """What Talk asks of a provider. Called only from tasks, never on a request path."""

    def place_call(self, call: OutboundCall) -> str:
        """Start the call; returns the provider's call id."""

    def redirect_call(self, *, call_sid: str, url: str) -> None:
        """Make a live call fetch new TwiML from ``url`` (e.g. to leave the queue)."""

    def end_call(self, *, call_sid: str) -> None:
        """Hang up a live call."""

    def recording_fetch(self, *, recording_sid: str) -> bytes:
        """The audio of a recording the provider made (WAV), with the account's credentials (C14)."""

    def recording_delete(self, *, recording_sid: str) -> None:
        """Delete the provider's copy of a recording (ours is stored)."""
