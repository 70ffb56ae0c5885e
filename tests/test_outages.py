"""When the database is down or swamped: 503 with Retry-After, quickly, never a 500; then recovery.

In-process: the settings behind the bounded waits, a database that refuses
connections, a statement past its timeout, a pool with no free connection, and a
PostgreSQL restart under one app. tests/test_faults.py does the same under gunicorn.
"""

import logging
import runpy
import socket
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from support.pgcluster import migrated_database

from catalog import create_app
from catalog.config import ConfigError
from catalog.extensions import db

ROOT = Path(__file__).resolve().parent.parent
PROBLEM = "application/problem+json"
POSTGRESQL_URL = "postgres://catalog@db.example.com:5432/catalog"


def engine_options(**settings) -> dict:
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": POSTGRESQL_URL, **settings})
    return app.config["SQLALCHEMY_ENGINE_OPTIONS"]


def closed_port() -> int:
    """Return a loopback port nothing listens on: connections to it are refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_every_wait_is_bounded_well_under_gunicorns_timeout(monkeypatch):
    for name in ("DATABASE_CONNECT_TIMEOUT", "DATABASE_POOL_TIMEOUT", "DATABASE_STATEMENT_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    options = engine_options()
    gunicorn_timeout = runpy.run_path(str(ROOT / "gunicorn.conf.py"))["timeout"]
    # Connections are checked at checkout without a statement (catalog.web.connections).
    assert "pool_pre_ping" not in options
    assert options["max_overflow"] == 0
    assert options["pool_timeout"] == 5
    assert options["connect_args"]["connect_timeout"] == 5
    assert options["connect_args"]["options"] == "-c statement_timeout=10000"
    worst = options["pool_timeout"] + options["connect_args"]["connect_timeout"] + 10
    assert worst < gunicorn_timeout


def test_timeouts_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("DATABASE_CONNECT_TIMEOUT", "3")
    monkeypatch.setenv("DATABASE_POOL_TIMEOUT", "2")
    monkeypatch.setenv("DATABASE_STATEMENT_TIMEOUT", "7")
    options = engine_options()
    assert options["pool_timeout"] == 2
    assert options["connect_args"] == {"connect_timeout": 3, "options": "-c statement_timeout=7000"}


def test_a_statement_timeout_of_zero_sets_none():
    options = engine_options(DATABASE_STATEMENT_TIMEOUT="0")
    assert "options" not in options["connect_args"]


def test_the_urls_own_options_are_kept_and_win():
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": POSTGRESQL_URL
            + "?options=-c%20statement_timeout%3D30s&sslmode=require",
        }
    )
    options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"]["options"]
    # PostgreSQL applies the options in order: the URL's, later, win.
    assert options == "-c statement_timeout=10000 -c statement_timeout=30s"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DATABASE_POOL_TIMEOUT", "0"),
        ("DATABASE_CONNECT_TIMEOUT", "soon"),
        ("DATABASE_STATEMENT_TIMEOUT", "-1"),
        ("MAX_CONTENT_LENGTH", "12"),
    ],
)
def test_bad_values_are_refused_in_one_line(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        create_app({"TESTING": True})
    assert str(info.value).startswith(name)
    assert "\n" not in str(info.value)


def test_sqlite_gets_no_postgresql_options(tmp_path):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db"})
    assert "connect_args" not in app.config["SQLALCHEMY_ENGINE_OPTIONS"]


@pytest.fixture
def unreachable(make_app):
    """An app whose PostgreSQL refuses every connection."""
    return make_app(SQLALCHEMY_DATABASE_URI=f"postgresql://postgres@127.0.0.1:{closed_port()}/x")


@pytest.mark.parametrize(
    ("method", "path", "mimetype"),
    [
        ("GET", "/", "text/html"),
        ("GET", "/catalog/soccer/", "text/html"),
        ("GET", "/catalog/soccer/ball/", "text/html"),
        ("GET", "/search?q=ball", "text/html"),
        ("GET", "/catalog/latest.atom", "text/html"),
        ("GET", "/api/v1/categories", PROBLEM),
        ("GET", "/api/v1/items", PROBLEM),
        ("GET", "/api/v1/items/1", PROBLEM),
        ("POST", "/api/v1/items", PROBLEM),
        ("PATCH", "/api/v1/items/1", PROBLEM),
        ("DELETE", "/api/v1/items/1", PROBLEM),
    ],
)
def test_an_unreachable_database_is_a_quick_503(unreachable, caplog, method, path, mimetype):
    client = unreachable.test_client()
    started = time.monotonic()
    response = client.open(
        path,
        method=method,
        json={"name": "x", "category": "soccer"} if method in ("POST", "PATCH") else None,
        headers={"Authorization": "Bearer cat_whatever"},
    )
    took = time.monotonic() - started
    assert response.status_code == 503, response.get_data(as_text=True)[:300]
    assert response.mimetype == mimetype
    assert response.headers["Retry-After"] == "5"
    assert took < 3
    if mimetype == PROBLEM:
        problem = response.get_json()
        assert problem["status"] == 503
        assert "try again" in problem["detail"]
    else:
        assert "try again in a few seconds" in response.get_data(as_text=True)
    # One warning line, and no traceback: not an error of the app's.
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert any("database unavailable" in r.getMessage() for r in caplog.records)


def test_a_signed_in_page_is_a_503_too(unreachable):
    client = unreachable.test_client()
    with client.session_transaction() as session:
        session["sid"] = "a-session"
        session["user_id"] = 1
    response = client.get("/account")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"


def test_healthz_says_503_with_retry_after(unreachable):
    response = unreachable.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.get_json() == {
        "status": "unavailable",
        "database": "unreachable",
        "redis": "not configured",
    }


def on_postgresql(database_url):
    if not database_url.startswith("postgres"):
        pytest.skip("statement and pool timeouts are PostgreSQL's")


def test_a_statement_past_its_timeout_is_cancelled_with_503(make_app, database_url):
    on_postgresql(database_url)
    app = make_app(SQLALCHEMY_DATABASE_URI=database_url, DATABASE_STATEMENT_TIMEOUT=1)

    @app.get("/_slow")
    def slow():
        db.session.execute(text("SELECT pg_sleep(5)"))
        return "slept"

    client = app.test_client()
    started = time.monotonic()
    response = client.get("/_slow")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert 0.9 < time.monotonic() - started < 4
    # The connection is fine; only the statement was cancelled.
    assert client.get("/api/v1/categories").status_code == 200


def test_a_pool_with_no_free_connection_gives_503_after_the_checkout_timeout(
    make_app, database_url
):
    on_postgresql(database_url)
    app = make_app(
        SQLALCHEMY_DATABASE_URI=database_url, DATABASE_POOL_SIZE=1, DATABASE_POOL_TIMEOUT=1
    )
    client = app.test_client()
    assert client.get("/api/v1/categories").status_code == 200
    with app.app_context():
        held = db.engine.connect()  # the pool's only connection, busy elsewhere
    try:
        started = time.monotonic()
        response = client.get("/api/v1/categories")
        took = time.monotonic() - started
    finally:
        held.close()
    assert response.status_code == 503
    assert response.mimetype == PROBLEM
    assert 0.9 < took < 3
    assert client.get("/api/v1/categories").status_code == 200


@pytest.mark.slow
@pytest.mark.xdist_group("cluster")
@pytest.mark.parametrize("backend", ["postgresql"])
def test_one_app_recovers_by_itself_after_a_database_restart(cluster, make_app, backend):
    app = make_app(SQLALCHEMY_DATABASE_URI=migrated_database(cluster))

    @app.get("/_backend")
    def backend_pid():
        return {"pid": db.session.scalar(text("SELECT pg_backend_pid()"))}

    client = app.test_client()
    before = client.get("/_backend")
    assert before.status_code == 200

    cluster.stop()
    try:
        during = [client.get(path) for path in ("/_backend", "/", "/api/v1/items", "/healthz")]
    finally:
        cluster.start()
    assert [r.status_code for r in during] == [503] * 4

    deadline = time.monotonic() + 10
    while (after := client.get("/_backend")).status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert after.status_code == 200
    # A new server process: the old, invalidated connection was dropped, not reused.
    assert after.get_json()["pid"] != before.get_json()["pid"]
    assert client.get("/api/v1/items").status_code == 200


@pytest.mark.slow
@pytest.mark.xdist_group("cluster")
@pytest.mark.parametrize("backend", ["postgresql"])
def test_requests_in_flight_when_the_database_goes_get_503(cluster, make_app, backend):
    """A query cut off by the server shutting down is a 503 too, not a 500."""
    app = make_app(SQLALCHEMY_DATABASE_URI=migrated_database(cluster))

    @app.get("/_slow")
    def slow():
        db.session.execute(text("SELECT pg_sleep(10)"))
        return "slept"

    answers = []
    thread = threading.Thread(target=lambda: answers.append(app.test_client().get("/_slow")))
    thread.start()
    time.sleep(1)
    cluster.stop()  # fast shutdown: terminates the running query's backend
    try:
        thread.join(timeout=15)
    finally:
        cluster.start()
    assert answers[0].status_code == 503
    assert app.test_client().get("/api/v1/categories").status_code == 200
