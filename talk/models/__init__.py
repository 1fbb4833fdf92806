"""Talk's models, one module per concept; import them from here."""
from talk.models.agents import AgentPresence
from talk.models.calls import Call, CallbackRequest, QueueEntry, WebhookReceipt
from talk.models.greetings import Greeting
from talk.models.lines import Line
from talk.models.simulator import SimulatorCall
from talk.models.telephony import TelephonySettings

__all__ = [
    "AgentPresence",
    "Call",
    "CallbackRequest",
    "Greeting",
    "Line",
    "QueueEntry",
    "SimulatorCall",
    "TelephonySettings",
    "WebhookReceipt",
]
