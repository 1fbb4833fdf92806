"""Talk's models, one module per concept; import them from here."""
from talk.models.agents import AgentPresence
from talk.models.calls import Call, CallbackAttempt, CallbackRequest, QueueEntry, WebhookReceipt
from talk.models.greetings import Greeting
from talk.models.jobs import ProviderJob
from talk.models.lines import Line
from talk.models.recordings import CallerRecording
from talk.models.routing import Offer
from talk.models.telephony import TelephonySettings

__all__ = [
    "AgentPresence",
    "Call",
    "CallbackAttempt",
    "CallbackRequest",
    "CallerRecording",
    "Greeting",
    "Line",
    "Offer",
    "ProviderJob",
    "QueueEntry",
    "TelephonySettings",
    "WebhookReceipt",
]
