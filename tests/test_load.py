"""Two app instances (two gunicorn processes) on one PostgreSQL and one Redis, as two dynos.

A short mixed load (bench/soak.py, the benchmark's own code) with random retries
carrying idempotency keys: every acknowledged write is there exactly once, no 5xx,
and the write limit counts across both instances. And a signed-in browser whose
requests alternate between the instances stays signed in.
"""

import os
import re
import secrets
from collections import Counter

import pytest
import requests
from flask_migrate import upgrade
from support.api_data import seed_tokens
from support.gunicorn_server import gunicorn
from support.html_forms import CSRF_TOKEN
from support.services import admin_url, redis_keys, throwaway_postgresql_database

from bench.soak import run_load, summary, verify
from catalog import create_app
from catalog.extensions import db

# One pytest-xdist worker runs both tests, on the same two instances.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("load")]
REDIS_URL = "redis://127.0.0.1:6379/0"
# Each run counts in Redis under a prefix of its own, so parallel runs never collide.
REDIS_PREFIX = f"catalog-load-{os.getpid()}-{secrets.token_hex(4)}"
WRITE_LIMIT = 100
LOAD_SECONDS = 15
CLIENTS = 4


@pytest.fixture(scope="module")
def redis_url():
    with redis_keys(REDIS_URL, f"*{REDIS_PREFIX}*") as url:
        yield url


@pytest.fixture(scope="module")
def shared_database():
    if admin_url() is None:
        pytest.skip("TEST_DATABASE_URL is not set: PostgreSQL tests are off")
    with throwaway_postgresql_database("catalog_load") as url:
        yield url


@pytest.fixture(scope="module")
def instances(shared_database, redis_url, tmp_path_factory):
    """Two gunicorn instances of two workers each, sharing the database, Redis and key."""
    settings = {
        "REDIS_URL": redis_url,
        "RATELIMIT_KEY_PREFIX": REDIS_PREFIX,
        "RATELIMIT_WRITES": f"{WRITE_LIMIT} per minute",
        # For the browser test: dev sign-in, and cookies over plain HTTP on loopback.
        "DEV_LOGIN": True,
        "SESSION_COOKIE_SECURE": False,
    }
    with (
        gunicorn(
            tmp_path_factory.mktemp("a"), shared_database, name="a", workers=2, settings=settings
        ) as a,
        gunicorn(
            tmp_path_factory.mktemp("b"), shared_database, name="b", workers=2, settings=settings
        ) as b,
    ):
        yield a, b
    for server in (a, b):
        log = server.log()
        assert "Traceback" not in log, log


@pytest.fixture(scope="module")
def migrated(shared_database):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": shared_database})
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return shared_database


@pytest.mark.parametrize("backend", ["postgresql"])
def test_mixed_load_on_two_instances_loses_nothing_and_shares_limits(
    migrated, instances, capsys, backend
):
    tokens = seed_tokens(migrated, CLIENTS + 1)
    bases = [server.url for server in instances]
    tally = run_load(
        bases,
        tokens[:-1],
        LOAD_SECONDS,
        greedy_token=tokens[-1],
        greedy_writes=WRITE_LIMIT + 10,
        writes_per_minute=WRITE_LIMIT - 20,
        seed=8,
    )
    findings = verify(migrated, tally)
    with capsys.disabled():  # the counts are shown in every run
        print("\n" + summary(tally, findings, LOAD_SECONDS, len(bases)))

    assert tally.server_errors == []
    assert tally.statuses[503] == 0
    assert tally.problems == []
    assert findings.missing == []
    assert findings.duplicated == []
    assert findings.unacknowledged == []
    assert findings.stale == []
    assert findings.counts_off == []
    assert findings.found == tally.acknowledged
    # The load did what it is for: writes on both instances, retries answered from storage.
    assert len(tally.created) > 50
    assert tally.changed
    assert tally.lost_answers > 0
    assert tally.replayed > 0
    # Counted together: exactly the limit gets through, whichever instance a write hits
    # (four workers counting alone would have let all of them through).
    greedy = Counter(tally.greedy)
    assert greedy[201] == WRITE_LIMIT
    assert greedy[429] == 10
    assert tally.statuses[429] == 10  # nobody else met the limit


def csrf(page: requests.Response) -> str:
    token = CSRF_TOKEN.search(page.text)
    assert token, page.text[:500]
    return token.group(1)


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_signed_in_session_works_on_both_instances(migrated, instances, backend):
    a, b = (server.url for server in instances)
    seed_tokens(migrated, 0)  # the Soccer category, if the load test has not made it
    browser = requests.Session()  # one cookie jar: both instances are 127.0.0.1

    # Sign in on B with the form A served.
    login = browser.get(f"{a}/login")
    signed_in = browser.post(
        f"{b}/login/dev",
        data={"subject": "lena", "csrf_token": csrf(login)},
        allow_redirects=False,
    )
    assert signed_in.status_code == 302
    assert "Lena" in browser.get(f"{a}/account").text

    # Add an item on A with the form B served; see it on B.
    form = browser.get(f"{b}/catalog/new")
    assert form.status_code == 200
    soccer = re.search(r'<option value="(\d+)"[^>]*>Soccer</option>', form.text)
    assert soccer, form.text[:1000]
    added = browser.post(
        f"{a}/catalog/new",
        data={
            "name": "Alternating Ball",
            "category": soccer.group(1),
            "description": "Added on A from B's form.",
            "csrf_token": csrf(form),
        },
        allow_redirects=False,
    )
    assert added.status_code == 302, added.text[:500]
    page = browser.get(b + added.headers["Location"])
    assert page.status_code == 200
    assert "Added on A from B&#39;s form." in page.text

    # A token made on B works as a bearer on A.
    account = browser.get(f"{a}/account")
    made = browser.post(f"{b}/account/tokens", data={"label": "both", "csrf_token": csrf(account)})
    assert made.status_code == 200
    token = re.search(r"(cat_[A-Za-z0-9_-]+)", made.text).group(1)
    found = browser.get(f"{a}/api/v1/items?q=alternating").json()["items"]
    assert [i["name"] for i in found] == ["Alternating Ball"]
    mine = found[0]
    changed = requests.patch(
        f"{a}/api/v1/items/{mine['id']}",
        json={"description": "Changed with B's token on A."},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert changed.status_code == 200

    # Signing out on A ends the session on B too.
    out = browser.post(
        f"{a}/logout", data={"csrf_token": csrf(browser.get(f"{b}/account"))}, allow_redirects=False
    )
    assert out.status_code == 302
    after = browser.get(f"{b}/account", allow_redirects=False)
    assert after.status_code == 302
    assert "/login" in after.headers["Location"]
