"""The memory bench's scratch account (bench/memory.py): its agents, and the rows its calls
leave (wiped at the start and at the end; counted before the last wipe).

The product is imported inside the functions, after ``webhook_setup.django_ready()``.
"""
from __future__ import annotations

from bench.webhook_setup import Scratch, empty

EXTRA_AGENTS = ("agent-2@bench-memory.test", "agent-3@bench-memory.test")


# --- the scratch account -------------------------------------------------------------
def setup_agents(s: Scratch) -> None:
    from django_scopes import scope, scopes_disabled

    from supportcenter import services as core
    from supportcenter.models import User
    from talk.models import AgentPresence

    for n, email in enumerate(EXTRA_AGENTS, start=2):
        with scopes_disabled():
            user = User.objects.filter(email=email).first() or User.objects.create_user(
                email, "bench-password-1", name=f"Bench agent {n}")
        with scope(account=s.account):
            core.membership_grant(account=s.account, user=user, role="agent")
    with scope(account=s.account):
        AgentPresence.objects.filter(account=s.account).update(busy=False, busy_since=None, busy_call=None,
                                                               busy_attempt=None)
        for user_id in member_ids(s.account):
            AgentPresence.objects.update_or_create(account=s.account, user_id=user_id,
                                                   defaults={"status": "online", "busy": False})


def member_ids(account) -> list[int]:
    from django_scopes import scopes_disabled

    from supportcenter.models import Membership

    with scopes_disabled():
        return list(Membership.objects.filter(account=account, is_active=True).values_list("user_id", flat=True))


def wipe(s: Scratch, *, offline: bool) -> None:
    """Everything the calls made in the scratch account: webhook_setup.empty's tables, then jobs and tickets."""
    from django.db import connection, transaction
    from django_scopes import scopes_disabled

    from talk.models import AgentPresence, ProviderJob
    from tickets.models import Comment, EndUser, Ticket, TicketCounter

    with scopes_disabled():  # free the agents first: their rows point at calls and attempts
        AgentPresence.objects.filter(account=s.account).update(
            busy=False, busy_since=None, busy_call=None, busy_attempt=None,
            **({"status": "offline"} if offline else {}))
    empty(s.account)
    with transaction.atomic(), connection.cursor() as cursor:
        for model in (ProviderJob, Comment, Ticket, EndUser, TicketCounter):
            cursor.execute(f'DELETE FROM "{model._meta.db_table}" WHERE account_id = %s', [s.account.pk])


def leftovers(s: Scratch) -> dict[str, int]:
    from django_scopes import scopes_disabled

    from talk.models import Call, CallbackRequest, ProviderJob
    from tickets.models import Ticket

    with scopes_disabled():
        return {m.__name__: m.objects.filter(account=s.account).count()
                for m in (Call, CallbackRequest, ProviderJob, Ticket)}


def others_at_work() -> str:
    """Another bench's router, dialer or tasks in sc_bench: ours would serve them too."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                       "AND pid <> pg_backend_pid() AND query ILIKE 'LISTEN%%'")
        listeners = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM django_q_ormq")
        queued = cursor.fetchone()[0]
    return f"{listeners} LISTEN session(s), {queued} queued task(s)" if listeners or queued else ""
