"""Rate limits: sign-in and every write, per user or address; they trip, and they recover."""

import json
import os
import re
import secrets
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from support.api_data import seed_api_catalog
from support.services import redis_keys

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = "redis://127.0.0.1:6379/0"
# Flask-Limiter keeps the first key prefix it is given for the life of the process, so
# every Redis test in this run shares one prefix that no other run uses; each test keys
# its counters by users of its own database.
REDIS_PREFIX = f"catalog-test-{os.getpid()}-{secrets.token_hex(4)}"


@pytest.fixture
def seeded(app):
    return seed_api_catalog(app)


def write(client, seeded, subject="ada", n=0):
    return client.post(
        "/api/v1/items",
        json={"category": "soccer", "name": f"Flag {n} {secrets.token_hex(3)}"},
        headers=seeded.bearer(subject),
    )


def test_api_writes_trip_and_recover(app, client, seeded):
    app.config["RATELIMIT_WRITES"] = "3 per 3 seconds"
    assert [write(client, seeded, n=n).status_code for n in range(3)] == [201] * 3

    tripped = write(client, seeded, n=3)
    assert tripped.status_code == 429
    assert tripped.mimetype == "application/problem+json"
    problem = tripped.get_json()
    assert problem["status"] == 429
    assert "3 per 3 second" in problem["detail"]
    wait = int(tripped.headers["Retry-After"])
    assert 0 < wait <= 3

    # Retry-After is whole seconds, rounded down: the window ends within a second after it.
    time.sleep(wait + 1.1)
    assert write(client, seeded, n=4).status_code == 201


def test_limits_are_per_user(app, client, seeded):
    app.config["RATELIMIT_WRITES"] = "2 per minute"
    assert [write(client, seeded, "ada", n).status_code for n in range(3)] == [201, 201, 429]
    assert write(client, seeded, "sam").status_code == 201


def test_a_users_writes_share_one_budget(app, client, seeded):
    app.config["RATELIMIT_WRITES"] = "2 per minute"
    created = write(client, seeded)
    assert created.status_code == 201
    url = created.headers["Location"]
    assert (
        client.patch(url, json={"name": "Renamed"}, headers=seeded.bearer("ada")).status_code == 200
    )
    assert client.delete(url, headers=seeded.bearer("ada")).status_code == 429


def test_reads_are_not_limited(app, client, seeded):
    app.config["RATELIMIT_WRITES"] = "1 per minute"
    statuses = {client.get("/api/v1/items").status_code for _ in range(10)}
    statuses |= {client.get("/").status_code for _ in range(10)}
    assert statuses == {200}


def test_html_writes_trip_with_an_error_page(app, seeded, signed_in):
    app.config["RATELIMIT_WRITES"] = "1 per minute"
    ada = signed_in("ada")
    first = ada.post("/account/tokens", data={"label": "one"})
    assert first.status_code == 200
    second = ada.post("/account/tokens", data={"label": "two"})
    assert second.status_code == 429
    assert second.mimetype == "text/html"
    assert "Too many requests" in second.get_data(as_text=True)
    assert int(second.headers["Retry-After"]) > 0


def test_sign_in_is_limited_per_address(app, client, seeded):
    app.config["RATELIMIT_SIGN_IN"] = "2 per minute"
    statuses = [client.post("/login/dev", data={"subject": "ada"}).status_code for _ in range(3)]
    assert statuses == [302, 302, 429]
    elsewhere = app.test_client()
    response = elsewhere.post(
        "/login/dev", data={"subject": "ada"}, environ_base={"REMOTE_ADDR": "192.0.2.7"}
    )
    assert response.status_code == 302


@pytest.mark.backend_independent
def test_every_write_route_is_limited(app, seeded):
    """No route that changes data escapes: a second write to any of them is refused."""
    app.config["RATELIMIT_WRITES"] = "1 per hour"
    app.config["RATELIMIT_SIGN_IN"] = "1 per hour"
    checked = []
    for n, rule in enumerate(app.url_map.iter_rules()):
        methods = rule.methods & {"POST", "PUT", "PATCH", "DELETE"}
        if not methods:
            continue
        path = re.sub(r"<(?:int[^:]*:)[^>]+>", "1", rule.rule)
        path = re.sub(r"<[^>]+>", "x", path)
        method = sorted(methods)[0]
        client = app.test_client()
        address = {"REMOTE_ADDR": f"198.51.100.{n % 250}"}
        client.open(path, method=method, environ_base=address)
        second = client.open(path, method=method, environ_base=address)
        assert second.status_code == 429, (rule.rule, method, second.status_code)
        checked.append(rule.endpoint)
    assert {"api.create_item", "api.item", "tokens.create", "auth.dev_login", "auth.logout"} <= set(
        checked
    )


# Redis: two app instances (here, two processes) count together.


@pytest.fixture
def redis_url():
    with redis_keys(REDIS_URL, f"*/{REDIS_PREFIX}/*") as url:
        yield url


OTHER_INSTANCE = textwrap.dedent(
    """
    import json, sys
    from catalog import create_app

    settings = json.loads(sys.argv[1])
    app = create_app({"TESTING": True, "SECRET_KEY": "another-instance", **settings})
    response = app.test_client().post(
        "/api/v1/items",
        json={"category": "soccer", "name": sys.argv[3]},
        headers={"Authorization": "Bearer " + sys.argv[2]},
    )
    print(response.status_code)
    """
)


def other_instance(settings: dict, token: str) -> int:
    """Make one write through an app in another process; return its status."""
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            OTHER_INSTANCE,
            json.dumps(settings),
            token,
            f"From another instance {secrets.token_hex(4)}",
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return int(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_instances_share_counters_through_redis(app, make_app, database_url, redis_url):
    settings = {
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": redis_url,
        "RATELIMIT_KEY_PREFIX": REDIS_PREFIX,
        "RATELIMIT_WRITES": "2 per minute",
    }
    # ``app`` emptied the database; this one counts in Redis.
    shared = make_app(**settings)
    seeded = seed_api_catalog(shared)
    client = shared.test_client()
    assert [write(client, seeded, n=n).status_code for n in range(3)] == [201, 201, 429]

    # Another instance on the same Redis sees Ada's budget spent...
    assert other_instance(settings, seeded.tokens["ada"]) == 429
    # ...but not Sam's, and one counting in its own memory sees nothing at all.
    assert other_instance(settings, seeded.tokens["sam"]) == 201
    in_memory = {k: v for k, v in settings.items() if k != "REDIS_URL"}
    assert other_instance(in_memory, seeded.tokens["ada"]) == 201
