"""The dialer: provider calls first in, first out, from jobs written with the change (SPEC R5, R10)."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone
from django_scopes import scope

from callsim import gateway
from talk import dialer, routing
from talk.enqueue import provider_job_add
from talk.models import CallbackAttempt, ProviderJob
from talk.services import offers
from talk.services import callback_calls
from talk.services.callback_requests import callback_request_create
from tests.postgres import needs_postgresql
from tests.talk.calls_support import ClientTransport, set_presence


@pytest.fixture
def recorded(monkeypatch):
    """The jobs' runners record what they were asked to do (the dialer is what is tested)."""
    seen: list[tuple[str, int]] = []
    lock = threading.Lock()

    def runner(kind):
        def run(object_id, now, retaken):
            with lock:
                seen.append((kind, object_id))
            return None
        return run

    monkeypatch.setattr(dialer, "RUNNERS", {kind: runner(kind) for kind in ProviderJob.Kind.values})
    return seen


def _job(account, object_id, *, run_at=None, kind=ProviderJob.Kind.PLACE_ATTEMPT):
    return ProviderJob.objects.create(account=account, kind=kind, object_id=object_id, run_at=run_at or timezone.now())


def _accepted_callback(acme, bob, main_line):
    """A callback request bob accepted (a real routing pass): its attempt now waits for a dialer."""
    set_presence(acme, bob, "online")
    with scope(account=acme):
        request = callback_request_create(line=main_line, number="+14155550404")
        [offer] = routing.route_account(acme)
        offers.offer_accept(account=acme, offer_id=offer.pk, agent=bob)
    return request


@pytest.mark.django_db
def test_jobs_run_oldest_first_then_by_id(acme, recorded):  # SPEC R5
    now = timezone.now()
    _job(acme, 3, run_at=now - timedelta(seconds=1))
    _job(acme, 1, run_at=now - timedelta(seconds=5))
    _job(acme, 2, run_at=now - timedelta(seconds=5))
    _job(acme, 4, run_at=now + timedelta(minutes=1))  # not due
    assert dialer.jobs_run_due(now) == 3
    assert [object_id for _kind, object_id in recorded] == [1, 2, 3]
    assert list(ProviderJob.objects.values_list("object_id", flat=True)) == [4]
    assert dialer.next_run_at(now) == now + timedelta(minutes=1)


@pytest.mark.django_db
def test_a_held_job_is_taken_again_only_when_its_lease_ends(acme, recorded):  # a dialer killed mid-job
    now = timezone.now()
    job = _job(acme, 7, run_at=now)
    assert dialer.job_take(now).pk == job.pk  # taken, never finished
    assert dialer.job_take(now + timedelta(seconds=1)) is None
    assert dialer.next_run_at(now + timedelta(seconds=1)) == now + dialer.LEASE
    assert dialer.jobs_run_due(now + dialer.LEASE + timedelta(seconds=1)) == 1
    assert recorded == [("place_attempt", 7)] and not ProviderJob.objects.exists()


@pytest.mark.django_db
def test_a_job_that_raises_is_tried_again_later_then_dropped(acme, monkeypatch, caplog):
    def broken(object_id, now, retaken):
        raise RuntimeError("provider client bug")

    monkeypatch.setattr(dialer, "RUNNERS", {kind: broken for kind in ProviderJob.Kind.values})
    job = _job(acme, 9)
    for failures in range(1, len(dialer.FAILURE_DELAYS) + 1):
        dialer.job_run_now(job.pk)
        job.refresh_from_db()
        assert job.failures == failures and job.taken_until is None
        assert job.run_at > timezone.now() + timedelta(seconds=dialer.FAILURE_DELAYS[failures - 1] - 5)
        ProviderJob.objects.filter(pk=job.pk).update(run_at=timezone.now())
    dialer.job_run_now(job.pk)
    assert not ProviderJob.objects.exists()
    assert "dropped" in caplog.text


@pytest.mark.django_db
def test_an_accepted_callback_is_a_job_placed_by_the_dialer(acme, bob, main_line, settings, monkeypatch):  # SPEC R5
    settings.TASKS_SYNC = False  # the job waits for a dialer
    monkeypatch.setattr(gateway, "transport_factory", ClientTransport)
    _accepted_callback(acme, bob, main_line)
    with scope(account=acme):
        attempt = CallbackAttempt.objects.get()
    assert attempt.status == "queued"
    [job] = ProviderJob.objects.all()
    assert (job.kind, job.object_id, job.account_id) == ("place_attempt", attempt.pk, acme.pk)
    assert dialer.jobs_run_due() == 1
    with scope(account=acme):
        attempt.refresh_from_db()
    assert attempt.provider_call_sid.startswith("CA") and attempt.started_at is not None
    assert not ProviderJob.objects.exists()
    assert dialer.jobs_run_due() == 0  # run twice (a lease ended), it places the call once


@pytest.mark.django_db
def test_a_carrier_that_cannot_be_reached_is_retried_not_failed(acme, bob, main_line, settings, monkeypatch):  # SPEC R10
    settings.TASKS_SYNC = False

    class Refusing:
        def post(self, url, params, headers):
            raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(gateway, "transport_factory", Refusing)
    request = _accepted_callback(acme, bob, main_line)
    dialer.jobs_run_due()
    with scope(account=acme):
        attempt = CallbackAttempt.objects.get()
        request.refresh_from_db()
    assert attempt.status == "queued" and request.state == "in_progress"
    [job] = ProviderJob.objects.all()  # the same job, at the attempt's new time
    assert job.run_at == attempt.scheduled_for > timezone.now()
    monkeypatch.setattr(gateway, "transport_factory", ClientTransport)
    dialer.jobs_run_due(attempt.scheduled_for)
    with scope(account=acme):
        attempt.refresh_from_db()
    assert attempt.provider_call_sid.startswith("CA") and not ProviderJob.objects.exists()


@pytest.mark.django_db
def test_an_attempt_claimed_by_a_dialer_that_died_is_placed_when_its_lease_ends(acme, bob, main_line, settings,
                                                                                 monkeypatch):  # SPEC R5
    settings.TASKS_SYNC = False
    monkeypatch.setattr(gateway, "transport_factory", ClientTransport)
    _accepted_callback(acme, bob, main_line)
    now = timezone.now()
    job = dialer.job_take(now)
    with scope(account=acme):  # the dying dialer claimed it, and never placed it
        attempt = CallbackAttempt.objects.get()
        assert callback_calls._claim(attempt, now) is True
    assert dialer.jobs_run_due(now + timedelta(seconds=1)) == 0  # still leased
    assert dialer.jobs_run_due(now + dialer.LEASE + timedelta(seconds=1)) == 1
    with scope(account=acme):
        attempt.refresh_from_db()
    assert attempt.provider_call_sid.startswith("CA")  # placed (the simulated call has played out since)
    assert not ProviderJob.objects.filter(pk=job.pk).exists()


@needs_postgresql("SKIP LOCKED and LISTEN/NOTIFY")
@pytest.mark.django_db(transaction=True)
def test_two_dialers_never_take_the_same_job(acme, recorded):  # FOR UPDATE SKIP LOCKED
    now = timezone.now()
    ProviderJob.objects.bulk_create(
        ProviderJob(account=acme, kind="place_attempt", object_id=n, run_at=now) for n in range(200)
    )
    errors = []

    def drain():
        try:
            dialer.jobs_run_due(now)
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=drain) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert sorted(object_id for _kind, object_id in recorded) == list(range(200))  # each once
    assert not ProviderJob.objects.exists()


@needs_postgresql("SKIP LOCKED and LISTEN/NOTIFY")
@pytest.mark.django_db(transaction=True)
def test_a_running_dialer_is_woken_by_the_commit(acme, recorded):  # NOTIFY talk_dial, delivered on commit
    running = dialer.Dialer(threads=2)
    thread = threading.Thread(target=running.run)
    thread.start()
    try:
        assert running.listening.wait(10)
        threading.Event().wait(0.3)  # its threads found nothing and sleep
        with transaction.atomic():
            provider_job_add(account_id=acme.pk, kind=ProviderJob.Kind.PLACE_ATTEMPT, object_id=42)
        deadline = timezone.now() + timedelta(seconds=dialer.LISTEN_POLL_SECONDS - 1)
        while not recorded and timezone.now() < deadline:
            threading.Event().wait(0.02)
        # Taken before the dialer's safety-net poll: the notification woke it.
        assert recorded == [("place_attempt", 42)]
    finally:
        running.shutdown()
        thread.join(10)
    assert not thread.is_alive()
