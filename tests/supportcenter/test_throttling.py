"""Brute-force throttling (issue 14, item 1): sign-in per e-mail and per client address
(django-axes, supportcenter.throttle), and failed API tokens per client address.

The probe that failed: 30 wrong passwords in 10 s all answered 200 and then the right one
signed in; 50 wrong API tokens in 1 s all answered 401, never 429.
"""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

import pytest
from asgiref.sync import async_to_sync
from axes.models import AccessAttempt
from django.conf import settings as django_settings
from django.db.models import F
from django.test import AsyncClient, Client, RequestFactory
from django.test.client import FakePayload

from supportcenter.auth import TOO_MANY_FAILURES_MESSAGE
from supportcenter.models import Membership
from supportcenter.throttle import API_TOKEN_USERNAME, client_address
from supportcenter.views import SIGNIN_LOCKED_MESSAGE, signin_lockout_response
from tests.conftest import PASSWORD, basic_auth, make_member, new_token

pytestmark = pytest.mark.django_db

HERE, THERE, ELSEWHERE = "203.0.113.10", "198.51.100.20", "192.0.2.30"
ME = "/api/v2/users/me.json"
LOCKED_PAGE = b"Too many failed sign-ins. Try again in "


@pytest.fixture(autouse=True)
def _fast_hashing(settings) -> None:
    """Hundreds of sign-ins: the cast's passwords hashed cheaply (set before the cast exists)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def small_limits(settings) -> None:
    settings.AXES_FAILURE_LIMIT = 3  # per e-mail
    settings.SIGNIN_ADDRESS_FAILURE_LIMIT = 7  # per client address
    settings.API_AUTH_FAILURE_LIMIT = 4


def browser(account, address: str = HERE, **extra) -> Client:
    return Client(HTTP_HOST=f"{account.subdomain}.localhost", REMOTE_ADDR=address, **extra)


def sign_in(client: Client, email: str, password: str = PASSWORD):
    return client.post("/login/", {"username": email, "password": password})


def signed_in(client: Client) -> bool:
    return client.get("/").status_code == 200


def age_attempts(by: timedelta) -> None:
    """Every recorded failure happened ``by`` earlier (what waiting would do)."""
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - by)


def assert_locked(response, *, at_most: int) -> None:
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= at_most
    assert LOCKED_PAGE in response.content
    assert b'name="password"' in response.content  # the normal sign-in page, not a bare one


# --- sign-in: per e-mail ----------------------------------------------------------------
def test_it_locks_an_email_after_its_failures(acme, alice, small_limits):  # SPEC T4
    client = browser(acme)
    for _ in range(2):
        response = sign_in(client, alice.email, "wrong")
        assert response.status_code == 200 and b"Please enter a correct" in response.content
    assert_locked(sign_in(client, alice.email, "wrong"), at_most=15 * 60)  # the third locks

    # Even the right password is refused now, with the page saying for how long.
    response = sign_in(client, alice.email)
    assert_locked(response, at_most=15 * 60)
    assert SIGNIN_LOCKED_MESSAGE.format(wait="15 minutes").encode() in response.content
    assert b'value="alice@acme.test"' in response.content
    assert not signed_in(client)


def test_failures_from_many_addresses_lock_the_email(acme, alice, small_limits):
    for address in (HERE, THERE, ELSEWHERE):
        sign_in(browser(acme, address), alice.email, "wrong")
    assert_locked(sign_in(browser(acme, "192.0.2.99"), alice.email), at_most=15 * 60)


def test_the_email_is_counted_whatever_its_case(acme, alice, small_limits):
    for email in ("Alice@Acme.test", "ALICE@ACME.TEST", " alice@acme.test"):
        sign_in(browser(acme), email, "wrong")
    assert sign_in(browser(acme), alice.email).status_code == 429


def test_an_unknown_email_is_locked_like_a_known_one(acme, alice, small_limits):
    # The same answer either way: the lock tells nobody which e-mails have an account.
    for _ in range(3):
        last = sign_in(browser(acme), "nobody@acme.test", "wrong")
    assert_locked(last, at_most=15 * 60)


def test_another_user_from_the_same_address_still_signs_in(acme, alice, bob, small_limits):
    client = browser(acme)
    for _ in range(3):
        sign_in(client, bob.email, "wrong")
    assert sign_in(client, bob.email).status_code == 429  # bob is locked...
    response = sign_in(client, alice.email)  # ...alice, from the very same address, is not
    assert response.status_code == 302 and signed_in(client)


def test_a_lock_holds_on_every_account_host(acme, globex, alice, small_limits):
    # The password is the user's, whichever account's page it is tried on: hopping from one
    # host to the next must not buy more guesses.
    make_member(globex, alice.email, "Alice Admin", Membership.Role.AGENT)
    for _ in range(3):
        sign_in(browser(acme), alice.email, "wrong")
    assert_locked(sign_in(browser(globex), alice.email), at_most=15 * 60)


def test_a_successful_sign_in_resets_the_emails_failures(acme, alice, small_limits):
    client = browser(acme)
    for _ in range(2):
        sign_in(client, alice.email, "wrong")
    assert sign_in(client, alice.email).status_code == 302
    client = browser(acme)
    for _ in range(2):
        assert sign_in(client, alice.email, "wrong").status_code == 200  # counting from zero
    assert sign_in(client, alice.email).status_code == 302


# --- sign-in: per address -------------------------------------------------------------
def test_an_address_is_locked_after_its_own_limit(acme, alice, small_limits):
    # Seven failures spread over e-mails, none of them at its own limit.
    client = browser(acme)
    for n in range(7):
        sign_in(client, f"guess{n % 4}@acme.test", "wrong")
    assert_locked(sign_in(client, alice.email), at_most=15 * 60)
    # The page itself says so before anyone types a password.
    assert_locked(browser(acme).get("/login/"), at_most=15 * 60)
    # Alice, anywhere else, signs in.
    other = browser(acme, THERE)
    assert other.get("/login/").status_code == 200
    assert sign_in(other, alice.email).status_code == 302


def test_signing_in_to_ones_own_account_does_not_wipe_the_addresss_failures(acme, alice, small_limits):
    client = browser(acme)
    for n in range(6):
        sign_in(client, f"victim{n % 3}@acme.test", "wrong")
    assert sign_in(client, alice.email).status_code == 302  # resets alice's failures only
    sign_in(browser(acme), "victim3@acme.test", "wrong")  # the address's seventh
    assert_locked(sign_in(browser(acme), alice.email), at_most=15 * 60)


def test_x_forwarded_for_is_ignored_without_a_proxy(acme, alice, small_limits):
    for n in range(7):  # a new "address" each time, in a header anyone can write
        sign_in(browser(acme, HTTP_X_FORWARDED_FOR=f"10.0.0.{n}"), f"guess{n % 4}@acme.test", "wrong")
    assert sign_in(browser(acme, HTTP_X_FORWARDED_FOR="10.0.0.99"), alice.email).status_code == 429


def test_behind_a_proxy_the_address_it_saw_is_the_clients(acme, alice, small_limits, settings):
    settings.PROXY_COUNT = 1
    proxy = "10.0.0.1"
    for n in range(7):  # entries left of the proxy's own are the client's to invent
        forwarded = f"172.16.0.{n}, {HERE}"
        sign_in(browser(acme, proxy, HTTP_X_FORWARDED_FOR=forwarded), f"guess{n % 4}@acme.test", "wrong")
    assert sign_in(browser(acme, proxy, HTTP_X_FORWARDED_FOR=HERE), alice.email).status_code == 429
    assert sign_in(browser(acme, proxy, HTTP_X_FORWARDED_FOR=THERE), alice.email).status_code == 302


def test_client_addresses_group_an_ipv6_subscriber_block(settings):
    def address(remote: str) -> str | None:
        return client_address(RequestFactory().get("/", REMOTE_ADDR=remote))

    assert address("2001:db8:1:2:aaaa::1") == address("2001:db8:1:2:bbbb::2") == "2001:db8:1:2::"
    assert address("2001:db8:1:3::1") != address("2001:db8:1:2::1")
    assert address("::ffff:203.0.113.10") == "203.0.113.10"
    assert address("") is None


# --- sign-in: the cool-off ------------------------------------------------------------
def test_the_lock_ends_after_the_cool_off(acme, alice, small_limits):
    client = browser(acme)
    for _ in range(3):
        sign_in(client, alice.email, "wrong")
    age_attempts(timedelta(minutes=14))
    response = sign_in(client, alice.email)
    assert_locked(response, at_most=60)
    assert SIGNIN_LOCKED_MESSAGE.format(wait="1 minute").encode() in response.content
    age_attempts(timedelta(minutes=1, seconds=1))
    assert sign_in(client, alice.email).status_code == 302


def test_tries_while_locked_do_not_extend_the_lock(acme, alice, small_limits):
    client = browser(acme)
    for _ in range(3):
        sign_in(client, alice.email, "wrong")
    age_attempts(timedelta(minutes=10))
    for _ in range(5):  # the user, impatient, and the attacker, still at it
        assert_locked(sign_in(client, alice.email, "wrong"), at_most=5 * 60)
    age_attempts(timedelta(minutes=5, seconds=1))
    assert sign_in(client, alice.email).status_code == 302


def test_the_cool_off_comes_from_the_settings(acme, alice, small_limits, settings):
    settings.AXES_COOLOFF_TIME = timedelta(minutes=2)
    for _ in range(3):
        sign_in(browser(acme), alice.email, "wrong")
    assert_locked(sign_in(browser(acme), alice.email), at_most=120)
    age_attempts(timedelta(minutes=2, seconds=1))
    assert sign_in(browser(acme), alice.email).status_code == 302


def test_the_probe_replayed(acme, alice):  # issue 14: the default limits
    client = browser(acme)
    answers = [sign_in(client, alice.email, f"guess-{n}").status_code for n in range(30)]
    assert answers[:4] == [200] * 4 and set(answers[4:]) == {429}
    assert_locked(sign_in(client, alice.email), at_most=15 * 60)


def test_a_lock_out_under_asgi_is_the_sign_in_page(acme, alice, small_limits):
    # Axes' middleware runs async under ASGI (daphne, uvicorn workers).
    for _ in range(3):
        sign_in(browser(acme), alice.email, "wrong")
    body = urlencode({"username": alice.email, "password": PASSWORD}).encode()
    # A scope of its own: AsyncClient's requests always carry a "host: testserver" header.
    scope = {
        "method": "POST", "path": "/login/", "query_string": "", "client": [HERE, 0],
        "headers": [(b"host", b"acme.localhost"), (b"content-length", str(len(body)).encode()),
                    (b"content-type", b"application/x-www-form-urlencoded")],
        "_body_file": FakePayload(body),
    }
    response = async_to_sync(AsyncClient().request)(**scope)
    assert_locked(response, at_most=15 * 60)


def test_a_lock_out_the_page_did_not_answer_gets_the_same_page(acme, alice, small_limits):
    # AXES_LOCKOUT_CALLABLE, as axes' async middleware calls it: credentials where the
    # response should be.
    for _ in range(3):
        sign_in(browser(acme), alice.email, "wrong")
    request = RequestFactory().post("/login/", {"username": alice.email}, REMOTE_ADDR=ELSEWHERE)
    request.account = acme
    response = signin_lockout_response(request, {"username": alice.email})
    assert_locked(response, at_most=15 * 60)


def test_sessions_stay_with_the_model_backend(acme, alice):
    # Axes' backend only refuses; sessions (and tests' force_login) name ModelBackend, as
    # sessions made before axes did.
    assert django_settings.AUTHENTICATION_BACKENDS[-1] == "django.contrib.auth.backends.ModelBackend"
    client = browser(acme)
    client.force_login(alice)
    assert client.session["_auth_user_backend"] == "django.contrib.auth.backends.ModelBackend"
    assert signed_in(client)
    signed = browser(acme, THERE)
    sign_in(signed, alice.email)
    assert signed.session["_auth_user_backend"] == "django.contrib.auth.backends.ModelBackend"


# --- API tokens -----------------------------------------------------------------------
def api(account, email: str, token: str, address: str = HERE, host: str | None = None) -> Client:
    return Client(
        HTTP_HOST=host or f"{account.subdomain}.localhost",
        REMOTE_ADDR=address,
        HTTP_AUTHORIZATION=basic_auth(email, token),
    )


def assert_throttled(response, *, at_most: int = 60) -> None:
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= at_most
    body = response.json()
    assert body["error"] == "TooManyRequests"
    assert body["description"].startswith(TOO_MANY_FAILURES_MESSAGE)


def test_wrong_tokens_past_the_limit_answer_429(acme, alice, small_limits):
    wrong = api(acme, alice.email, "not-the-token")
    for _ in range(4):
        assert wrong.get(ME).status_code == 401
    assert_throttled(wrong.get(ME))
    # A malformed credential is a failure like any other.
    garbled = Client(HTTP_HOST="acme.localhost", REMOTE_ADDR=HERE, HTTP_AUTHORIZATION="Basic !!!")
    assert_throttled(garbled.get(ME))


def test_a_good_token_still_works(acme, alice, bob, small_limits):
    raw = new_token(acme, alice)
    for _ in range(5):
        api(acme, bob.email, "not-the-token").get(ME)
    assert api(acme, bob.email, "not-the-token").get(ME).status_code == 429
    assert api(acme, alice.email, raw, THERE).get(ME).status_code == 200  # from elsewhere
    # From the throttled address too: tokens carry 240 random bits, so refusing the right one
    # would stop no guessing, only the working integrations that share the address.
    assert api(acme, alice.email, raw).get(ME).status_code == 200
    assert api(acme, bob.email, "not-the-token", THERE).get(ME).status_code == 401  # elsewhere: counted anew


def test_the_token_lock_covers_every_account_host(acme, globex, alice, charlie, small_limits):
    for _ in range(4):
        api(acme, alice.email, "not-the-token").get(ME)
    assert_throttled(api(globex, charlie.email, "not-the-token").get(ME))
    assert_throttled(api(None, charlie.email, "not-the-token", host="localhost").get(ME))  # the bare domain
    assert api(globex, charlie.email, new_token(globex, charlie)).get(ME).status_code == 200


def test_the_token_lock_ends_with_its_window(acme, alice, small_limits):
    wrong = api(acme, alice.email, "not-the-token")
    for _ in range(4):
        wrong.get(ME)
    assert_throttled(wrong.get(ME))
    age_attempts(timedelta(seconds=61))
    for _ in range(4):  # a new window, counted from one
        assert wrong.get(ME).status_code == 401
    assert_throttled(wrong.get(ME))


def test_a_flood_of_wrong_tokens_writes_nothing_more(acme, alice, small_limits):
    wrong = api(acme, alice.email, "not-the-token")
    for _ in range(20):
        wrong.get(ME)
    assert sum(AccessAttempt.objects.filter(username=API_TOKEN_USERNAME).values_list(
        "failures_since_start", flat=True)) == 4


def test_the_token_probe_replayed(acme, alice):  # issue 14: 50 wrong tokens, the default limit
    wrong = api(acme, alice.email, "not-the-token")
    answers = [wrong.get(ME).status_code for _ in range(50)]
    assert answers[:30] == [401] * 30 and set(answers[30:]) == {429}


def test_token_failures_and_sign_in_failures_are_counted_apart(acme, alice, small_limits):
    for _ in range(10):  # the API's limit, and more than the sign-in address limit
        api(acme, alice.email, "not-the-token").get(ME)
    assert sign_in(browser(acme), alice.email).status_code == 302
    for n in range(6):  # the sign-in address's failures, more than the API's limit
        sign_in(browser(acme, THERE), f"guess{n % 3}@acme.test", "wrong")
    assert api(acme, alice.email, "not-the-token", THERE).get(ME).status_code == 401
