"""Talk's models, one module per concept; import them from here."""
from talk.models.greetings import Greeting
from talk.models.lines import Line
from talk.models.telephony import TelephonySettings

__all__ = ["Greeting", "Line", "TelephonySettings"]
