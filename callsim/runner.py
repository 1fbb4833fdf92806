"""Drives simulated calls for the demo page and the command line (SPEC O1).

The engine talks to the webhooks over real HTTP, so it must not run on the
thread that serves the page: under ASGI every sync view shares one thread, and
a view waiting for its own server's webhook would wait forever. Page actions
therefore run on a short-lived worker thread; the page polls for the result.
"""
from __future__ import annotations

import logging
import re
import threading

from django.db import close_old_connections, connections, transaction
from django_scopes import scope

from callsim.engine import SimulatedCall, Transport, TwiMLError
from callsim.models import SimulatorCall
from callsim.transports import HttpTransport
from supportcenter.errors import ServiceError
from supportcenter.models import Account, User
from talk.models import Line
from talk.selectors.telephony import telephony_auth_token

logger = logging.getLogger(__name__)

ACTIONS = ("press", "silence", "wait", "hangup")
KEYS_RE = re.compile(r"^[0-9*#]{1,32}$")
KEYS_MESSAGE = "Keys are digits, * and #, at most 32."
FROM_MESSAGE = "Enter the number (or SIP address) to call from."
BUSY_MESSAGE = "The call is still busy with the last action; try again in a moment."
ENDED_MESSAGE = "This call has ended."
ACTION_MESSAGE = "Unknown action."


def line_address(line: Line) -> str:
    if line.kind == Line.Kind.PHONE and line.number:
        return line.number.as_e164
    if line.kind == Line.Kind.SIP:
        return line.sip_address
    return f"client:line-{line.pk}"


def _engine(row: SimulatorCall) -> SimulatedCall:
    # The signing secret is never stored with the call; it is read when needed.
    return SimulatedCall.from_state({**row.state, "auth_token": telephony_auth_token(account=row.account)})


def _store(row: SimulatorCall, call: SimulatedCall, error: str = "") -> None:
    state = call.to_state()
    state.pop("auth_token")
    row.state = state
    row.error = error
    row.busy = False
    row.save(update_fields=["state", "error", "busy", "updated_at"])


def simulator_call_place(
    *, account: Account, line: Line, from_: str, user: User | None, urls: dict[str, str],
    transport: Transport | None = None,
) -> SimulatorCall:
    """Place a call; it runs on a worker thread, unless a ``transport`` is given (tests)."""
    from_ = from_.strip()
    if not from_ or len(from_) > 64:
        raise ServiceError(FROM_MESSAGE, field="from")
    call = SimulatedCall(
        account_sid="AC" + "0" * 32, auth_token="", voice_url=urls["voice_url"],
        status_callback_url=urls["status_callback_url"], from_=from_, to=line_address(line),
    )
    state = call.to_state()
    state.pop("auth_token")
    row = SimulatorCall.objects.create(account=account, line=line, placed_by=user, state=state, busy=True)
    _launch(row, "dial", "", transport)
    return row


def simulator_call_act(
    *, account: Account, row: SimulatorCall, action: str, keys: str = "", transport: Transport | None = None
) -> None:
    if action not in ACTIONS:
        raise ServiceError(ACTION_MESSAGE, field="action")
    if action == "press" and not KEYS_RE.match(keys):
        raise ServiceError(KEYS_MESSAGE, field="keys")
    if row.state.get("status") != "in-progress":
        raise ServiceError(ENDED_MESSAGE)
    # Claim the call: a conditional UPDATE, so two clicks never run at once.
    if not SimulatorCall.objects.filter(account=account, pk=row.pk, busy=False).update(busy=True):
        raise ServiceError(BUSY_MESSAGE)
    _launch(row, action, keys, transport)


def _launch(row: SimulatorCall, action: str, keys: str, transport: Transport | None) -> None:
    if transport is not None:
        _work(row.account_id, row.pk, action, keys, transport)
        return
    # Start after the creating transaction commits, or the thread may not see the row.
    transaction.on_commit(
        lambda: threading.Thread(target=_work_in_thread, args=(row.account_id, row.pk, action, keys), daemon=True).start()
    )


def _work_in_thread(account_id: int, row_id: int, action: str, keys: str) -> None:
    close_old_connections()
    try:
        _work(account_id, row_id, action, keys)
    finally:
        connections.close_all()


def simulator_call_redirect(*, account: Account, call_sid: str, url: str, transport: Transport | None = None) -> bool:
    """The carrier side of a REST redirect, for a call placed from the simulator page
    (an agent accepted a live call): the caller leaves the queue for ``url``."""
    row = SimulatorCall.objects.filter(account=account, state__call_sid=call_sid).first()
    if row is None or row.state.get("status") != "in-progress":
        return False
    if not SimulatorCall.objects.filter(account=account, pk=row.pk, busy=False).update(busy=True):
        return False
    _work(account.pk, row.pk, "redirect", url, transport)
    return True


def _work(account_id: int, row_id: int, action: str, keys: str, transport: Transport | None = None) -> None:
    account = Account.objects.get(pk=account_id)
    with scope(account=account):
        row = SimulatorCall.objects.select_related("account").get(account=account, pk=row_id)
        call = _engine(row)
        transport = transport or HttpTransport()
        try:
            if action == "dial":
                call.dial(transport)
            elif action == "press":
                call.press(transport, keys)
            elif action == "redirect":
                call.redirect(transport, keys)
            else:
                getattr(call, action)(transport)
        except (TwiMLError, OSError) as error:
            logger.warning("simulated call %s: %s", row_id, error)
            _store(row, call, error=str(error))
            return
        except Exception as error:  # the page must show what happened, never hang "busy"
            logger.exception("simulated call %s failed", row_id)
            _store(row, call, error=f"{type(error).__name__}: {error}")
            return
        _store(row, call)
