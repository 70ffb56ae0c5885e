"""``flask doctor``: one line per check, a problem for each thing it checks, exit 1 on any."""

import re
import subprocess
import sys
import time

import pytest
import redis
from flask_migrate import upgrade
from support.redis_servers import HungRedis
from support.services import redis_keys

from catalog import create_app
from catalog.extensions import db

SECRET = "4b9e2f7a1c8d3e6f0a5b2c9d7e1f4a8b3c6d0e9f2a7b5c1d8e4f6a3b9c2d7e0f"
LINE = re.compile(r"(ok|problem) +([a-z -]+): (.+)")
on_postgresql = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@pytest.fixture
def production(monkeypatch, oidc_provider):
    """Return a factory of production apps: a strong key, sign-in configured, no debug."""
    for name in (
        "FLASK_DEBUG",
        "WEB_CONCURRENCY",
        "DATABASE_POOL_SIZE",
        "OIDC_ISSUER",
        "ALLOWED_HOSTS",
        "REDIS_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WEB_CONCURRENCY", "2")
    made = []

    def make(database, **settings):
        config = {
            "SECRET_KEY": SECRET,
            "SQLALCHEMY_DATABASE_URI": database,
            "OIDC_ISSUER": oidc_provider.issuer,
            "OIDC_CLIENT_ID": "catalog",
            "OIDC_CLIENT_SECRET": "catalog-client-secret",
            "ALLOWED_HOSTS": "my-catalog.herokuapp.com",
            **settings,
        }
        made.append(create_app(config))
        return made[-1]

    yield make
    for app in made:
        with app.app_context():
            db.engine.dispose()


def doctor(app, *args) -> tuple[int, dict[str, tuple[str, str]]]:
    """Run ``flask doctor``; return its exit code and each check's (status, detail)."""
    result = app.test_cli_runner().invoke(args=["doctor", *args])
    findings = {}
    for line in result.stdout.splitlines():
        match = LINE.fullmatch(line)
        if match:
            findings[match[2]] = (match[1], match[3])
    return result.exit_code, findings


def unreachable_database(unreachable_url) -> str:
    port = unreachable_url.rsplit(":", 1)[1]
    return f"postgres://catalog@127.0.0.1:{port}/catalog"


@on_postgresql
def test_good_setup_passes_every_check(production, database_url):
    code, findings = doctor(production(database_url))
    assert list(findings) == [
        "secret key",
        "debug",
        "hosts",
        "database",
        "migrations",
        "sign-in",
        "connections",
        "redis",
        "replicas",
    ]
    assert all(status == "ok" for status, _ in findings.values()), findings
    assert code == 0
    assert "discovery answers" in findings["sign-in"][1]
    assert "2 workers x 5 connections = 10 per dyno" in findings["connections"][1]
    # Without Redis one process is fine; the line says what more of them need.
    assert findings["redis"][1].startswith("REDIS_URL not set: each process counts rate limits")
    assert findings["replicas"][1] == "DATABASE_REPLICA_URL not set: every read goes to the primary"


def test_missing_secret_key_stops_with_one_line(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "FLASK_APP": "catalog", "HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "flask", "doctor", "--offline"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("SECRET_KEY is not set")


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("changeme", "well-known"),
        ("test-secret-key", "well-known"),
        ("0123456789abcdef", "16 characters"),
        ("a" * 64, "guessable"),
        ("ab" * 32, "guessable"),
    ],
)
def test_weak_secret_key_is_a_problem(production, unreachable_url, key, reason):
    app = production(unreachable_database(unreachable_url), SECRET_KEY=key)
    code, findings = doctor(app, "--offline")
    status, detail = findings["secret key"]
    assert status == "problem"
    assert reason in detail
    assert "token_hex(32)" in detail
    assert code == 1


def test_debug_is_a_problem(production, unreachable_url, monkeypatch):
    monkeypatch.setenv("FLASK_DEBUG", "1")
    code, findings = doctor(production(unreachable_database(unreachable_url)), "--offline")
    status, detail = findings["debug"]
    assert status == "problem"
    assert "debug (FLASK_DEBUG)" in detail
    assert "unset FLASK_DEBUG" in detail
    assert code == 1


@pytest.mark.parametrize(
    ("setting", "named"), [("TESTING", "TESTING"), ("DEV_LOGIN", "dev sign-in")]
)
def test_testing_or_dev_sign_in_is_a_problem(production, unreachable_url, setting, named):
    app = production(unreachable_database(unreachable_url), **{setting: True})
    code, findings = doctor(app, "--offline")
    status, detail = findings["debug"]
    assert status == "problem"
    assert named in detail
    assert code == 1


def test_unset_allowed_hosts_is_a_problem(production, unreachable_url):
    app = production(unreachable_database(unreachable_url), ALLOWED_HOSTS=None)
    code, findings = doctor(app, "--offline")
    status, detail = findings["hosts"]
    assert status == "problem"
    assert "ALLOWED_HOSTS is not set" in detail
    assert "set ALLOWED_HOSTS to the names" in detail
    assert code == 1


def test_allowed_hosts_are_listed(production, unreachable_url):
    app = production(
        unreachable_database(unreachable_url),
        ALLOWED_HOSTS="my-catalog.herokuapp.com, *.example.com",
    )
    status, detail = doctor(app, "--offline")[1]["hosts"]
    assert status == "ok"
    assert detail == (
        "answers for my-catalog.herokuapp.com, *.example.com; any other Host gets 400"
    )


def test_unset_allowed_hosts_is_fine_in_debug(production, unreachable_url, monkeypatch):
    monkeypatch.setenv("FLASK_DEBUG", "1")
    app = production(unreachable_database(unreachable_url), ALLOWED_HOSTS=None)
    status, detail = doctor(app, "--offline")[1]["hosts"]
    assert status == "ok"
    assert "any host is served" in detail


def test_unreachable_database_is_a_problem(production, unreachable_url):
    code, findings = doctor(production(unreachable_database(unreachable_url)), "--offline")
    status, detail = findings["database"]
    assert status == "problem"
    assert "cannot connect" in detail
    assert "check DATABASE_URL" in detail
    # What needs the database says it was not checked, rather than passing.
    assert findings["migrations"][0] == findings["connections"][0] == "problem"
    assert code == 1


def test_sqlite_is_a_problem(production, tmp_path):
    app = production(f"sqlite:///{tmp_path / 'catalog.sqlite'}")
    code, findings = doctor(app, "--offline")
    status, detail = findings["database"]
    assert status == "problem"
    assert "SQLite" in detail
    assert "flask export" in detail
    assert code == 1


def test_schema_behind_the_code_is_a_problem(production, empty_database_url):
    app = production(empty_database_url)
    code, findings = doctor(app, "--offline")
    assert findings["migrations"][0] == "problem"
    assert "no schema" in findings["migrations"][1]
    assert "flask db upgrade" in findings["migrations"][1]

    with app.app_context():
        upgrade(revision="0001")
    code, findings = doctor(app, "--offline")
    status, detail = findings["migrations"]
    assert status == "problem"
    assert re.search(r"database at 0001, code at \d{4}", detail)
    assert code == 1

    with app.app_context():
        upgrade()
    assert doctor(app, "--offline")[1]["migrations"][0] == "ok"


def test_missing_oidc_client_is_a_problem(production, unreachable_url):
    app = production(unreachable_database(unreachable_url), OIDC_CLIENT_SECRET=None)
    code, findings = doctor(app, "--offline")
    status, detail = findings["sign-in"]
    assert status == "problem"
    assert "OIDC_CLIENT_SECRET not set" in detail
    assert "register an OAuth client" in detail
    assert code == 1


def test_unreachable_discovery_is_a_problem(production, unreachable_url):
    app = production(unreachable_database(unreachable_url), OIDC_ISSUER=unreachable_url)
    code, findings = doctor(app)
    status, detail = findings["sign-in"]
    assert status == "problem"
    assert "unreachable" in detail
    assert "--offline" in detail
    assert code == 1


def test_offline_does_not_fetch_discovery(production, unreachable_url):
    app = production(unreachable_database(unreachable_url), OIDC_ISSUER=unreachable_url)
    status, detail = doctor(app, "--offline")[1]["sign-in"]
    assert status == "ok"
    assert "not checked (--offline)" in detail


def test_issuer_that_is_not_a_provider_is_a_problem(production, unreachable_url, oidc_provider):
    app = production(
        unreachable_database(unreachable_url), OIDC_ISSUER=f"{oidc_provider.issuer}/elsewhere"
    )
    status, detail = doctor(app)[1]["sign-in"]
    assert status == "problem"
    assert "answered 404" in detail


def test_plain_http_issuer_is_a_problem(production, unreachable_url):
    app = production(unreachable_database(unreachable_url), OIDC_ISSUER="http://id.example.com")
    status, detail = doctor(app, "--offline")[1]["sign-in"]
    assert status == "problem"
    assert "not an https URL" in detail


@on_postgresql
def test_pools_over_the_connection_limit_are_a_problem(production, database_url, monkeypatch):
    monkeypatch.setenv("WEB_CONCURRENCY", "4")
    code, findings = doctor(production(database_url, DATABASE_POOL_SIZE=1000), "--offline")
    status, detail = findings["connections"]
    assert status == "problem"
    assert "4 workers x 1000 connections = 4000 per dyno" in detail
    assert "lower DATABASE_POOL_SIZE" in detail
    assert code == 1


def test_a_redis_that_answers_is_ok(production, unreachable_url):
    with redis_keys("redis://127.0.0.1:6379/0", "LIMITS*doctor*") as url:
        app = production(unreachable_database(unreachable_url), REDIS_URL=url)
        status, detail = doctor(app, "--offline")[1]["redis"]
    version = redis.Redis.from_url(url).info("server")["redis_version"]
    assert status == "ok"
    assert detail == f"Redis {version} answers at {url}; every process counts rate limits there"


def test_unreachable_redis_is_a_problem(production, unreachable_url):
    port = unreachable_url.rsplit(":", 1)[1]
    url = f"redis://:hunter2@127.0.0.1:{port}/0"
    code, findings = doctor(
        production(unreachable_database(unreachable_url), REDIS_URL=url), "--offline"
    )
    status, detail = findings["redis"]
    assert status == "problem"
    assert detail.startswith(f"cannot reach Redis at redis://:***@127.0.0.1:{port}/0: ")
    assert "refused" in detail
    assert "hunter2" not in detail
    assert "check REDIS_URL" in detail
    assert code == 1


def test_a_hung_redis_is_a_problem_found_quickly(production, unreachable_url):
    hung = HungRedis()
    try:
        app = production(unreachable_database(unreachable_url), REDIS_URL=hung.url)
        started = time.monotonic()
        code, findings = doctor(app, "--offline")
        took = time.monotonic() - started
    finally:
        hung.close()
    status, detail = findings["redis"]
    assert status == "problem"
    assert "Timeout" in detail
    assert took < 5
    assert code == 1
