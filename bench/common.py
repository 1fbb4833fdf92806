"""What every benchmark shares: percentiles, one figure's row, and the Django setup.

A benchmark module exposes ``figures(quick: bool) -> list[Figure]``; ``bench/run.py``
runs them all and writes ``bench/results/latest.md``. Each script also runs alone and
prints its figures. Product and reference are measured in the same run, in alternating
slices: the machine is shared and noisy, so the ratio holds where an absolute time does not.
"""
from __future__ import annotations

import os
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DATABASE = "postgres://postgres@127.0.0.1:5432/sc_bench"  # never a test database
BENCH_REDIS = "redis://127.0.0.1:6379/3"


def django_setup(**env: str) -> None:
    """Settings as production runs them (PostgreSQL, Redis, routers), unless the caller says."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportcenter.settings")
    os.environ.setdefault("DATABASE_URL", BENCH_DATABASE)
    os.environ.setdefault("REDIS_URL", BENCH_REDIS)
    for key, value in env.items():
        os.environ[key] = value
    import django

    django.setup()


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def spread(values: list[float]) -> str:
    """The spread of repeated measurements of one figure: min–max over the repeats."""
    if len(values) < 2:
        return "one run"
    return f"{min(values):.3g}–{max(values):.3g} (sd {statistics.pstdev(values):.2g})"


@dataclass
class Figure:
    """One row of the results table.

    ``goal``: what the issue asks, in words (e.g. "≥ 0.5× reference", "≤ 1,000 ms").
    ``met``: whether this run met it (None: no goal, a figure for the record).
    ``product`` / ``reference``: the headline number of each side, in ``unit``;
    ``repeats``: the product's value in each repeat, for the spread.
    """

    name: str
    unit: str
    product: float
    reference: float | None = None
    reference_name: str = ""
    goal: str = ""
    met: bool | None = None
    repeats: list[float] = field(default_factory=list)
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.reference in (None, 0):
            return None
        return self.product / self.reference


def fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    if value != value:  # NaN
        return "n/a"
    text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.3g}"
    return f"{text} {unit}".strip()


def table(figures: list[Figure]) -> str:
    lines = [
        "| figure | product | reference | ratio | spread (product, repeats) | goal | met |",
        "|---|---:|---|---:|---|---|---|",
    ]
    for f in figures:
        reference = f"{fmt(f.reference, f.unit)} ({f.reference_name})" if f.reference is not None else "—"
        ratio = f"{f.ratio:.2f}" if f.ratio is not None else "—"
        met = {True: "yes", False: "**no**", None: "—"}[f.met]
        lines.append(
            f"| {f.name} | {fmt(f.product, f.unit)} | {reference} | {ratio} | {spread(f.repeats)} | {f.goal or '—'} | {met} |"
        )
    notes = [f"- **{f.name}**: {f.note}" for f in figures if f.note]
    return "\n".join(lines + ([""] + notes if notes else []))


def show(figures: list[Figure]) -> None:
    print(table(figures))


def stop_process(process, timeout: float = 15.0) -> None:
    """Stop a process the bench started in a session of its own: SIGTERM to its group, then
    SIGKILL if it is still there after ``timeout`` (django-q2's own cluster can hang)."""
    import os
    import signal
    import subprocess

    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass


def scratch_account(subdomain: str, name: str, *, agents: int = 1, number: str = "+14155550100"):
    """A bench's own account (made once, then reused): migrated database, ``agents`` agent
    members (``agent<n>@<subdomain>.test``, the account's only active members), telephony settings and a phone line with
    callback on. Returns (account, line, users); never point a bench at data you keep."""
    from django.core.management import call_command
    from django_scopes import scope, scopes_disabled

    from supportcenter import services as core
    from supportcenter.models import Account, Membership, User
    from talk.models import Line
    from talk.services.lines import line_create
    from talk.services.telephony import telephony_settings_ensure

    call_command("migrate", interactive=False, verbosity=0)
    with scopes_disabled():
        account = Account.objects.filter(subdomain=subdomain).first() or Account.objects.create(
            subdomain=subdomain, name=name, time_zone="UTC", region="US"
        )
        users = [
            User.objects.filter(email=f"agent{n}@{subdomain}.test").first()
            or User.objects.create_user(f"agent{n}@{subdomain}.test", "bench-password-1", name=f"Agent {n}")
            for n in range(agents)
        ]
    with scope(account=account):
        for user in users:
            core.membership_grant(account=account, user=user, role="agent")
        # Only these agents: members left by an earlier run (another agent count, older
        # names) would be offered calls nobody here answers.
        Membership.objects.filter(account=account).exclude(user__in=users).update(is_active=False)
        telephony_settings_ensure(account=account)
        line = Line.objects.filter(account=account).first() or line_create(
            account=account, actor=None, name=f"{name} line", kind="phone", number=number, callback_enabled=True
        )
    return account, line, users
