"""Login throttling: one username from one address is refused after 5 failed passwords, for 15 minutes; an address
is refused after many failures whatever the usernames; nobody else is locked out, a correct password resets its
own counter only, concurrent attempts get no more password checks than the limit, the proxy header counts only
behind our proxy. Password reset e-mails are limited per address asked for and per client address."""

import datetime
import os
import re
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import pytest
import time_machine
from django.contrib.auth.backends import ModelBackend
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.test import Client, RequestFactory
from rest_framework.test import APIClient

from msgplatform.accounts.models import AttemptCounter
from msgplatform.accounts.services.attempts import attempt_claim
from msgplatform.accounts.services.tokens import token_create
from msgplatform.accounts.throttle import client_ip
from tests.conftest import requires_postgres
from tests.factories import PASSWORD, StaffFactory

ROOT = Path(__file__).resolve().parents[2]

LOCKED = "Too many failed attempts; try again in 15 minutes."
RESET_LOCKED = "Too many password reset requests; try again in an hour."


def log_in(username: str, password: str, address: str = "203.0.113.7", **headers):
    return Client(REMOTE_ADDR=address, **headers).post("/login/", {"username": username, "password": password})


def fail(username: str, times: int, address: str = "203.0.113.7", **headers) -> None:
    for _ in range(times):
        response = log_in(username, "wrong-password", address, **headers)
        # The form again; the failure that reaches the limit already answers with the refusal.
        assert response.status_code in (200, 429), response.status_code


def refused(response) -> bool:
    return response.status_code == 429 and LOCKED in response.content.decode()


@pytest.fixture
def target(db):
    return StaffFactory(username="target")


@pytest.fixture
def colleague(target):
    return StaffFactory(username="colleague", tenant=target.tenant)


def test_five_failed_passwords_refuse_that_username_from_that_address_with_the_login_form(target):
    fail("target", 4)
    assert refused(log_in("target", "wrong-password"))  # the fifth failure says so at once

    response = log_in("target", PASSWORD)

    assert refused(response)
    page = response.content.decode()
    assert 'name="username"' in page and 'name="password"' in page  # the login form, with the reason above it
    assert "_auth_user_id" not in response.client.session


def test_four_failures_still_let_the_correct_password_in(target):
    fail("target", 4)

    assert log_in("target", PASSWORD).status_code == 302


def test_the_refusal_reads_the_same_for_a_username_that_does_not_exist(target):
    fail("target", 5)
    fail("nobody-by-this-name", 5)

    def body(response) -> str:
        return re.sub(r"[A-Za-z0-9]{64}", "<csrf token>", response.content.decode())

    known, unknown = log_in("target", PASSWORD), log_in("nobody-by-this-name", "any")

    assert refused(known) and refused(unknown)
    assert body(known) == body(unknown)


def test_other_users_of_the_same_address_are_not_locked_out(target, colleague):
    fail("target", 5)

    assert log_in("colleague", PASSWORD).status_code == 302
    assert refused(log_in("target", PASSWORD))


def test_the_same_user_from_another_address_is_not_locked_out(target):
    fail("target", 5, address="203.0.113.7")

    assert log_in("target", PASSWORD, address="198.51.100.9").status_code == 302


def test_a_colleagues_successful_login_does_not_reset_the_counter(target, colleague):
    fail("target", 4)
    assert log_in("colleague", PASSWORD).status_code == 302

    fail("target", 1)

    assert refused(log_in("target", PASSWORD))


def test_a_correct_password_resets_its_own_counter(target):
    fail("target", 4)
    assert log_in("target", PASSWORD).status_code == 302

    fail("target", 4)

    assert log_in("target", PASSWORD).status_code == 302


def test_the_refusal_ends_15_minutes_after_the_last_failure(target):
    start = datetime.datetime(2026, 3, 20, 9, 0, tzinfo=datetime.UTC)
    with time_machine.travel(start, tick=False) as clock:
        fail("target", 5)
        clock.shift(datetime.timedelta(minutes=14))
        assert refused(log_in("target", PASSWORD))
        clock.shift(datetime.timedelta(minutes=2))

        assert log_in("target", PASSWORD).status_code == 302


def test_attempts_while_refused_are_not_checked_and_do_not_extend_the_refusal(target, monkeypatch):
    checks = counting_password_checks(monkeypatch)
    start = datetime.datetime(2026, 3, 20, 9, 0, tzinfo=datetime.UTC)
    with time_machine.travel(start, tick=False) as clock:
        fail("target", 5)
        clock.shift(datetime.timedelta(minutes=10))
        for _ in range(10):
            assert refused(log_in("target", PASSWORD))
        clock.shift(datetime.timedelta(minutes=6))

        assert log_in("target", PASSWORD).status_code == 302
    assert len(checks) == 6


def test_one_address_is_refused_after_its_own_limit_whatever_the_usernames(target, settings):
    settings.LOGIN_IP_FAILURE_LIMIT = 8
    for n in range(8):
        fail(f"guess-{n}", 1)

    assert refused(log_in("target", PASSWORD))
    assert log_in("target", PASSWORD, address="198.51.100.9").status_code == 302


def test_correct_passwords_do_not_use_up_the_address_limit(target, colleague, settings):
    settings.LOGIN_IP_FAILURE_LIMIT = 3
    for _ in range(5):
        assert log_in("colleague", PASSWORD).status_code == 302

    fail("target", 2)

    assert log_in("target", PASSWORD).status_code == 302


def test_forwarded_for_is_ignored_unless_behind_our_proxy(target, settings):
    settings.BEHIND_PROXY = False
    for n in range(5):
        log_in("target", "wrong", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")

    assert refused(log_in("target", PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.99"))


def test_behind_our_proxy_the_client_is_the_last_forwarded_hop(target, settings):
    settings.BEHIND_PROXY = True
    # The proxy (REMOTE_ADDR) appends the address it saw; a client rotating its own header changes nothing.
    for n in range(5):
        log_in("target", "wrong", address="10.0.0.2", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, 198.51.100.20")

    assert refused(log_in("target", PASSWORD, address="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.20"))
    assert log_in("target", PASSWORD, address="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.21").status_code == 302


def test_client_ip_reads_the_proxy_header_only_when_told(settings):
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.20")
    settings.BEHIND_PROXY = False
    assert client_ip(request) == "10.0.0.2"
    settings.BEHIND_PROXY = True
    assert client_ip(request) == "198.51.100.20"
    garbage = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="not-an-address")
    assert client_ip(garbage) == "10.0.0.2"


def test_an_api_token_keeps_working_while_its_login_is_locked_out(target):
    _, secret = token_create(user=target, name="push")
    fail("target", 5, address="127.0.0.1")
    assert refused(log_in("target", PASSWORD, address="127.0.0.1"))
    api = APIClient(REMOTE_ADDR="127.0.0.1")
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")

    assert api.get("/api/v1/users/").status_code == 200


def test_support_unlocks_a_username_with_axes_reset_username(target):
    fail("target", 5)
    assert refused(log_in("target", PASSWORD))

    call_command("axes_reset_username", "target")

    assert log_in("target", PASSWORD).status_code == 302


def test_a_claim_beyond_the_limit_counts_nothing(db):
    window = datetime.timedelta(minutes=15)
    claims = [
        attempt_claim(kind="login", ip_address="192.0.2.1", subject="x", limit=3, window=window) for _ in range(5)
    ]

    assert claims == [True, True, True, False, False]
    assert AttemptCounter.objects.get(kind="login", ip_address="192.0.2.1", subject="x").attempts == 3


def ask_reset(email: str, address: str = "203.0.113.7"):
    return Client(REMOTE_ADDR=address).post("/password-reset/", {"email": email})


def test_password_reset_is_limited_to_three_e_mails_per_address_an_hour(target):
    for _ in range(3):
        assert ask_reset(target.email).status_code == 302

    response = ask_reset(target.email, address="198.51.100.9")

    assert response.status_code == 429 and RESET_LOCKED in response.content.decode()
    assert len(mail.outbox) == 3


def test_password_reset_refusal_reads_the_same_for_an_unknown_address(target):
    for _ in range(3):
        ask_reset(target.email)
        ask_reset("nobody@example.com")

    known, unknown = ask_reset(target.email), ask_reset("nobody@example.com")

    assert known.status_code == unknown.status_code == 429
    assert RESET_LOCKED in known.content.decode() and RESET_LOCKED in unknown.content.decode()


def test_password_reset_is_limited_per_client_address(target, settings):
    settings.PASSWORD_RESET_LIMIT_PER_IP = 4
    for n in range(4):
        assert ask_reset(f"someone{n}@example.com").status_code == 302

    assert ask_reset(target.email).status_code == 429
    assert ask_reset(target.email, address="198.51.100.9").status_code == 302
    assert len(mail.outbox) == 1


def test_password_reset_may_be_asked_again_after_an_hour(target):
    start = datetime.datetime(2026, 3, 20, 9, 0, tzinfo=datetime.UTC)
    with time_machine.travel(start, tick=False) as clock:
        for _ in range(3):
            ask_reset(target.email)
        clock.shift(datetime.timedelta(minutes=61))

        assert ask_reset(target.email).status_code == 302
    assert len(mail.outbox) == 4


def counting_password_checks(monkeypatch) -> list[str]:
    """Every password check (ModelBackend.authenticate) is recorded; slowed a little to widen any race."""
    checks: list[str] = []
    lock = threading.Lock()
    check = ModelBackend.authenticate

    def counted(self, request, username=None, password=None, **kwargs):
        with lock:
            checks.append(username)
        time.sleep(0.02)
        return check(self, request, username=username, password=password, **kwargs)

    monkeypatch.setattr(ModelBackend, "authenticate", counted)
    return checks


def twenty_concurrent_wrong_passwords(base_url: str, username: str) -> list[int]:
    """20 clients fetch the login form (CSRF cookie and token), then all post a wrong password at once."""
    barrier = threading.Barrier(20)
    statuses: list[int] = []

    def attempt():
        try:
            opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
            form = opener.open(base_url + "/login/", timeout=30).read().decode()
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
            body = {"username": username, "password": "wrong-password", "csrfmiddlewaretoken": token}
            barrier.wait(timeout=30)
            try:
                statuses.append(opener.open(base_url + "/login/", urllib.parse.urlencode(body).encode(), 60).status)
            except urllib.error.HTTPError as error:
                statuses.append(error.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return statuses


def assert_at_most_five_checked(statuses: list[int], checks: int) -> None:
    assert len(statuses) == 20
    assert 1 <= checks <= 5
    # A checked wrong password answers the form again, or already the refusal when the failures it sees reach the
    # limit (concurrent ones may all see it); the attempts refused before any check answer the refusal.
    assert set(statuses) <= {200, 429}
    assert statuses.count(200) <= min(checks, 4)


@pytest.fixture
def server(tmp_path):
    """The embedded set-up for real: gunicorn (2 processes x 10 threads) over a fresh SQLite file, production
    settings (PBKDF2 passwords) with DEBUG=1 only so that pages need no collected static files."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CACHE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    database = tmp_path / "db.sqlite3"
    env.update(DJANGO_SETTINGS_MODULE="config.settings", VAR_DIR=str(tmp_path), SQLITE_PATH=str(database), DEBUG="1")
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True, timeout=180)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = open(tmp_path / "gunicorn.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "config.wsgi", "--bind", f"127.0.0.1:{port}", "-w", "2", "--threads", "10"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(base_url + "/login/", timeout=5)
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    pytest.fail("gunicorn did not start: " + (tmp_path / "gunicorn.log").read_text())
                time.sleep(0.2)
        yield base_url, database
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def test_twenty_concurrent_attempts_on_the_embedded_server_get_at_most_five_password_checks(server):
    base_url, database = server

    statuses = twenty_concurrent_wrong_passwords(base_url, "target")

    # Every checked (wrong) password is one failure recorded by axes; attempts refused before the check are not.
    with sqlite3.connect(database) as db:
        (checks,) = db.execute("SELECT COALESCE(SUM(failures_since_start), 0) FROM axes_accessattempt").fetchone()
    assert_at_most_five_checked(statuses, checks)


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_attempts_against_the_live_server_get_at_most_five_password_checks(live_server, monkeypatch):
    StaffFactory(username="target")
    checks = counting_password_checks(monkeypatch)

    statuses = twenty_concurrent_wrong_passwords(live_server.url, "target")

    assert_at_most_five_checked(statuses, len(checks))
