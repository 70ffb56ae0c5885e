"""When Redis hangs, refuses or restarts: quick answers, limits that hold, and recovery.

A hung Redis is a loopback listener that accepts connections and never answers; a
refused one is a closed port; a restarted one is a redis-server of the test's own on
a spare port, which the test stops and starts. The shared Redis on 6379 is never
stopped.
"""

import logging
import time
from contextlib import contextmanager

import pytest
import redis
import requests
from support.api_data import seed_api_catalog
from support.deploy import free_port
from support.gunicorn_server import gunicorn
from support.oidc_provider import QUIET_PROVIDER
from support.redis_servers import HungRedis
from support.services import redis_keys

from catalog.web.limits import REDIS_TIMEOUT

pytestmark = QUIET_PROVIDER

SHARED_REDIS = "redis://127.0.0.1:6379/0"
# Far above what one Redis call may take (its timeouts are about a second), far below
# gunicorn's 30 s: a request that takes this long waited on Redis.
QUICK = 3
FALLING_BACK = "falling back to in-memory storage"


@pytest.fixture
def hung_redis():
    server = HungRedis()
    yield server
    server.close()


@pytest.fixture
def refused_redis():
    """The URL of a loopback port nothing listens on: connections are refused at once."""
    return f"redis://127.0.0.1:{free_port()}/0"


@contextmanager
def timed():
    """Measure the block: ``with timed() as took: ...`` then ``took()`` in seconds."""
    started = time.monotonic()
    ended = []
    yield lambda: (ended or [time.monotonic()])[0] - started
    ended.append(time.monotonic())


def api_write(client, seeded, subject="ada"):
    return client.post(
        "/api/v1/items",
        json={"category": "soccer", "name": f"Flag {time.monotonic_ns()}"},
        headers=seeded.bearer(subject),
    )


def limits_app(make_app, database_url, redis_url, oidc_provider, **settings):
    """Return an app counting in ``redis_url``, with sign-in through the test provider.

    Built last on purpose: the limiter is one per process and counts in the store of
    the app made last.
    """
    return make_app(
        SQLALCHEMY_DATABASE_URI=database_url,
        REDIS_URL=redis_url,
        OIDC_ISSUER=oidc_provider.issuer,
        OIDC_CLIENT_ID="catalog",
        OIDC_CLIENT_SECRET="catalog-client-secret",
        **settings,
    )


def signed_in_cookie(app) -> str:
    """Sign Ada in on ``app`` (which counts in memory); return her session cookie."""
    client = app.test_client()
    assert client.post("/login/dev", data={"subject": "ada"}).status_code == 302
    return client.get_cookie("session").value


# A hung Redis: every request that counts meets it first, on an app of its own.


@pytest.mark.slow
@pytest.mark.parametrize("first", ["api write", "form write", "sign-in start"])
def test_a_hung_redis_leaves_every_request_answered_within_seconds(
    app, make_app, database_url, oidc_provider, hung_redis, caplog, first
):
    seeded = seed_api_catalog(app)
    cookie = signed_in_cookie(app)
    hung = limits_app(
        make_app, database_url, hung_redis.url, oidc_provider, RATELIMIT_WRITES="3 per minute"
    )
    client = hung.test_client()
    client.set_cookie("session", cookie)
    requests_by_kind = {
        "api write": (lambda: api_write(client, seeded), 201),
        "form write": (lambda: client.post("/account/tokens", data={"label": "x"}), 200),
        "sign-in start": (lambda: client.get("/login/oidc"), 302),
    }

    with timed() as took:
        response = requests_by_kind[first][0]()
    assert response.status_code == requests_by_kind[first][1], response.get_data(as_text=True)
    assert took() < QUICK
    assert hung_redis.accepted, "the app never tried Redis"

    # The others, once Redis is known to hang, answer as quickly.
    for kind, (send, status) in requests_by_kind.items():
        with timed() as took:
            response = send()
        assert (response.status_code, kind) == (status, kind)
        assert took() < QUICK, kind
    # Reads ask Redis only for kept pages, and give up on it within a tenth of a second:
    # never the second the limits wait (REDIS_TIMEOUT), even on a busy machine (CI saw 0.56 s).
    for path in ("/", "/api/v1/items", "/catalog/soccer/"):
        with timed() as took:
            assert client.get(path).status_code == 200
        assert took() < 0.9 * REDIS_TIMEOUT, path
    warnings = [r for r in caplog.records if FALLING_BACK in r.getMessage()]
    assert len(warnings) == 1
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


# A refused Redis: the limits keep holding, per process, and the log says so once.


def test_a_refused_redis_keeps_every_limit_in_this_process(
    app, make_app, database_url, oidc_provider, refused_redis, caplog, monkeypatch
):
    monkeypatch.setenv("RATELIMIT_WRITES", "5 per minute")
    monkeypatch.setenv("RATELIMIT_SIGN_IN", "3 per minute")
    seeded = seed_api_catalog(app)
    refused = limits_app(make_app, database_url, refused_redis, oidc_provider)
    client = refused.test_client()

    with timed() as took:
        writes = [api_write(client, seeded).status_code for _ in range(8)]
        sign_ins = [
            client.post("/login/dev", data={"subject": "sam"}).status_code for _ in range(5)
        ]
        starts = [client.get("/login/oidc").status_code for _ in range(2)]
    assert writes == [201] * 5 + [429] * 3
    # Sign-ins started and finished share one budget per address.
    assert sign_ins + starts == [302] * 3 + [429] * 4
    assert took() < QUICK
    # Another user's writes and another address's sign-ins have budgets of their own.
    assert api_write(client, seeded, "sam").status_code == 201
    elsewhere = {"REMOTE_ADDR": "192.0.2.9"}
    assert client.get("/login/oidc", environ_base=elsewhere).status_code == 302

    warnings = [r for r in caplog.records if FALLING_BACK in r.getMessage()]
    assert [r.levelno for r in warnings] == [logging.WARNING]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


# /healthz reports Redis, quickly and cheaply, and stays 200 while only Redis is down.


@pytest.fixture
def shared_redis():
    with redis_keys(SHARED_REDIS, "LIMITS*catalog-health*") as url:
        yield url


@pytest.mark.parametrize(
    ("redis_url", "body"),
    [
        (None, {"status": "ok", "database": "ok", "redis": "not configured"}),
        ("shared", {"status": "ok", "database": "ok", "redis": "ok"}),
        ("refused", {"status": "degraded", "database": "ok", "redis": "unreachable"}),
        ("hung", {"status": "degraded", "database": "ok", "redis": "unreachable"}),
    ],
)
def test_healthz_reports_redis(make_app, database_url, request, redis_url, body):
    if redis_url is not None:
        redis_url = request.getfixturevalue(f"{redis_url}_redis")
        redis_url = getattr(redis_url, "url", redis_url)
    client = make_app(SQLALCHEMY_DATABASE_URI=database_url, REDIS_URL=redis_url).test_client()
    for _ in range(3):
        with timed() as took:
            response = client.get("/healthz")
        assert (response.status_code, response.get_json()) == (200, body)
        assert took() < 2


def test_healthz_asks_redis_at_most_every_few_seconds(make_app, database_url, hung_redis):
    client = make_app(SQLALCHEMY_DATABASE_URI=database_url, REDIS_URL=hung_redis.url).test_client()
    with timed() as first:
        assert client.get("/healthz").get_json()["redis"] == "unreachable"
    with timed() as again:
        for _ in range(20):
            assert client.get("/healthz").get_json()["redis"] == "unreachable"
    assert 0.5 < first() < 2
    assert again() < 1
    assert hung_redis.accepted == 1


def test_healthz_on_the_shared_redis_reuses_one_connection(make_app, database_url, shared_redis):
    app = make_app(SQLALCHEMY_DATABASE_URI=database_url, REDIS_URL=shared_redis)
    client = app.test_client()
    observer = redis.Redis.from_url(shared_redis)
    before = int(observer.info("stats")["total_connections_received"])
    for _ in range(3):
        assert client.get("/healthz").get_json()["redis"] == "ok"
    # One connection for the health check at most, however often it runs.
    assert int(observer.info("stats")["total_connections_received"]) - before <= 1


# Redis stops and comes back, under gunicorn: the limits hold meanwhile, and counting goes
# back to Redis by itself. A process of its own starts the fallback's schedule afresh.


@pytest.mark.slow
def test_counting_goes_back_to_redis_when_it_returns(app, database_url, tmp_path, redis_server):
    seeded = seed_api_catalog(app)
    with gunicorn(
        tmp_path, database_url, REDIS_URL=redis_server.url, RATELIMIT_WRITES="4 per minute"
    ) as server:

        def write(subject="ada") -> int:
            return requests.post(
                f"{server.url}/api/v1/items",
                json={"category": "soccer", "name": f"Flag {time.monotonic_ns()}"},
                headers=seeded.bearer(subject),
                timeout=10,
            ).status_code

        assert write() == 201
        assert list(redis_server.counters().values()) == [1]

        redis_server.stop()
        # Ada's budget starts again in the process's memory: four writes, then 429.
        assert [write() for _ in range(5)] == [201] * 4 + [429]

        redis_server.start()  # empty: it keeps nothing on disk
        assert redis_server.counters() == {}
        returned = time.monotonic()
        while not redis_server.counters():
            # Counted in memory until the fallback asks Redis again: 429 past the budget.
            assert write("sam") in (201, 429)
            assert time.monotonic() - returned < 40, "counting never went back to Redis"
            time.sleep(0.1)
        recovery = time.monotonic() - returned
        assert list(redis_server.counters().values()) == [1]
        assert write("sam") == 201
        assert list(redis_server.counters().values()) == [2]
        log = server.log()

    # One warning for the outage and one line for the return, whatever the requests.
    assert log.count(FALLING_BACK) == 1, log
    assert log.count("Rate limit storage recovered") == 1, log
    assert "Traceback" not in log
    # The fallback asks Redis again after 1, 2, 4... seconds: here, within a few.
    assert recovery < 10
