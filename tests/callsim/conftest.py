"""The call simulator's fixtures: talk's line (defined in tests/talk/calls_support.py)."""
from tests.talk.calls_support import main_line  # noqa: F401
