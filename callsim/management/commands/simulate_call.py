"""Place a simulated call from the command line, against a running server (SPEC O1).

    manage.py simulate_call --line "Main line" --from +14155550111 --keys "w,2,1,1"

Steps are comma-separated: digits (and * #) are pressed, ``w`` stays silent for
one prompt (or one turn of the hold loop). ``--hangup-after N`` hangs up after
the N-th step, as a caller who gives up.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from django.core.management.base import BaseCommand, CommandError
from django_scopes import scope

from callsim.engine import SimulatedCall, TwiMLError
from callsim.runner import KEYS_RE, line_address
from callsim.transports import HttpTransport
from supportcenter.models import Account
from talk.models import Line
from talk.selectors import line_webhook_urls, telephony_auth_token


class Command(BaseCommand):
    help = "Call a line through the webhooks of a running server, press keys, print what the caller hears."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--account", default="acme", help="subdomain of the account (default acme)")
        parser.add_argument("--line", required=True, help="the line's name, or its id")
        parser.add_argument("--from", dest="from_", default="+14155550111", help="caller id (number or SIP URI)")
        parser.add_argument("--keys", default="", help='steps, e.g. "2,1,1" or "w,2,2,4155550123#,1"')
        parser.add_argument("--hangup-after", type=int, default=None, help="hang up after this many steps")
        parser.add_argument("--server", default="http://localhost:8000", help="where the product runs")

    def handle(self, *args, account: str, line: str, from_: str, keys: str, hangup_after: int | None,
               server: str, **options) -> None:
        tenant = Account.objects.filter(subdomain=account.lower()).first()
        if tenant is None:
            raise CommandError(f"No account with subdomain {account!r}.")
        steps = [step.strip() for step in keys.split(",") if step.strip()]
        for step in steps:
            if step != "w" and not KEYS_RE.match(step):
                raise CommandError(f"Step {step!r} is neither keys (0-9 * #) nor w.")
        with scope(account=tenant):
            target = Line.objects.filter(account=tenant, name=line).first()
            if target is None and line.isdigit():
                target = Line.objects.filter(account=tenant, pk=int(line)).first()
            if target is None:
                raise CommandError(f"No line {line!r} in {tenant.subdomain}.")
            token = telephony_auth_token(account=tenant)
            urls = {name: self._on(server, url) for name, url in line_webhook_urls(line=target).items()}
        call = SimulatedCall(account_sid="AC" + "0" * 32, auth_token=token, voice_url=urls["voice_url"],
                             status_callback_url=urls["status_callback_url"], from_=from_, to=line_address(target))
        transport = HttpTransport()
        shown = 0
        try:
            call.dial(transport)
            shown = self._show(call, shown)
            for number, step in enumerate(steps, start=1):
                if call.status != "in-progress":
                    break
                call.silence(transport) if step == "w" else call.press(transport, step)
                shown = self._show(call, shown)
                if hangup_after is not None and number >= hangup_after:
                    break
            call.hangup(transport)
        except (TwiMLError, OSError) as error:
            self._show(call, shown)
            raise CommandError(f"The call failed: {error}") from None
        self._show(call, shown)

    @staticmethod
    def _on(server: str, url: str) -> str:
        parts = urlsplit(url)
        return server.rstrip("/") + parts.path + (f"?{parts.query}" if parts.query else "")

    def _show(self, call: SimulatedCall, shown: int) -> int:
        for entry in call.transcript[shown:]:
            text = entry.get("text", "")
            self.stdout.write(f"  {entry['kind']:<15} {text}".rstrip())
        return len(call.transcript)
