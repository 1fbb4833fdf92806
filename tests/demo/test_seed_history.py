"""manage.py seed_history (issue 7): every outcome, figures that add up."""
from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django_scopes import scope

from dashboards import selectors
from dashboards.timeframes import timeframe_for_days
from talk.models import Call, CallbackAttempt, CallbackRequest, Offer, QueueEntry


def test_it_seeds_every_outcome_with_a_progress_bar(acme, alice, bob, dave):
    out = StringIO()
    call_command("seed_history", account="acme", calls=3000, days=10, seed=7, stdout=out)
    assert "100%" in out.getvalue() and "[##############################]" in out.getvalue()
    with scope(account=acme):
        assert Call.objects.filter(account=acme).count() == 3000
        outcomes = set(Call.objects.filter(account=acme).values_list("outcome", flat=True))
        assert set(Call.Outcome.values) <= outcomes
        assert set(Call.Direction.values) == set(Call.objects.values_list("direction", flat=True))
        request_outcomes = set(CallbackRequest.objects.values_list("outcome", flat=True))
        assert set(CallbackRequest.Outcome.values) <= request_outcomes  # "" is the pending ones
        assert CallbackRequest.objects.filter(confirmed=False).exists()
        assert CallbackAttempt.objects.exists() and Offer.objects.filter(state="declined").exists()
        # Every request's entry is a callback entry; every answered call's entry was served.
        assert not CallbackRequest.objects.exclude(queue_entry__kind=QueueEntry.Kind.CALLBACK).exists()
        tf = timeframe_for_days(account=acme, first_day=Call.objects.order_by("started_at").first().started_at.date()
                                .replace(day=1), last_day=Call.objects.order_by("-started_at").first().started_at.date())
        figures = selectors.account_overview(account=acme, timeframe=tf)
    assert figures["total_calls"] >= 3000  # calls plus callback attempts
    assert figures["total_callback_calls"] > 0 and figures["max_calls_waiting"] > 0


def test_an_unknown_account_is_an_error(db):
    with pytest.raises(CommandError):
        call_command("seed_history", account="nope", calls=10, stdout=StringIO())
