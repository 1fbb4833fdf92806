"""What a provider's counts of seconds may mean (issue 14): a webhook's ``QueueTime``,
``CallDuration`` or ``DialCallDuration`` is kept within what a call can be. A negative count
is unknown; a count beyond a day (Twilio ends calls after four hours) is a day. So an absurd
value never hangs up on a caller (a date past the calendar's end) and never loses a call's end
(a constraint refusing the row). Not the time since the call began: the call simulator plays
whole calls in an instant and reports the durations it plays."""
from __future__ import annotations

LONGEST_SECONDS = 24 * 3600


def provider_seconds(value: int | None) -> int | None:
    """``value`` seconds, at most a day; None when unknown or negative."""
    if value is None or value < 0:
        return None
    return min(value, LONGEST_SECONDS)
