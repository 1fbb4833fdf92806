"""Talk's shared fixtures (defined in calls_support.py): main_line, bob_online, phone."""
from tests.talk.calls_support import bob_online, main_line, phone  # noqa: F401
