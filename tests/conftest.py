"""Fixtures in the manner of flaskr: ``app``, ``client``, ``runner``, each on every database.

SQLite always runs. PostgreSQL runs too when ``TEST_DATABASE_URL`` points at a
server: the suite creates a throwaway database there, migrates it once, and
drops it at the end. Every test starts from empty tables. A test that runs no SQL
(settings, headers, the OpenAPI document, requests refused before any query) is
marked ``backend_independent`` and runs on SQLite alone; it fails if it runs SQL.

Fixtures and hooks live here; the helpers tests import are in ``tests/support/``.
"""

import os
import secrets
import shutil
import socket
from contextlib import contextmanager

import psycopg
import pytest

# The helpers' asserts explain their failures as the tests' do. This must come before they
# are imported, hence the imports below it (E402 is off for this file in pyproject.toml).
pytest.register_assert_rewrite("support")

from flask_migrate import upgrade
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from support.deploy import ROOT, shipped_files
from support.oidc_provider import provider_in_thread
from support.pgcluster import Cluster
from support.redis_servers import RedisServer
from support.services import admin_url, throwaway_postgresql_database
from support.sign_in import AuthActions

from catalog import create_app
from catalog.extensions import db
from catalog.models import Base

BACKENDS = ["sqlite", "postgresql"]
_postgresql_passed = 0


def pytest_sessionstart(session):
    url = admin_url()
    if url is None:
        if os.environ.get("CI"):
            pytest.exit(
                "CI is set but TEST_DATABASE_URL is not: PostgreSQL tests would not run.", 1
            )
        return
    try:
        psycopg.connect(url, connect_timeout=5).close()
    except psycopg.Error as exc:
        pytest.exit(f"TEST_DATABASE_URL is set but PostgreSQL does not answer: {exc}", 1)


def on_postgresql(item) -> bool:
    """Tell whether a collected test runs against PostgreSQL."""
    callspec = getattr(item, "callspec", None)
    return callspec is not None and "postgresql" in (
        callspec.params.get(name) for name in ("database_url", "empty_database_url", "backend")
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    # On the report, which pytest-xdist carries from a worker to the process that counts.
    report.on_postgresql = on_postgresql(item)
    return report


def pytest_runtest_logreport(report):
    global _postgresql_passed
    if report.when == "call" and report.passed and getattr(report, "on_postgresql", False):
        _postgresql_passed += 1


@pytest.hookimpl(tryfirst=True)
def pytest_generate_tests(metafunc):
    """Run a test marked ``backend_independent`` on SQLite alone."""
    # As a parametrize mark, which takes the place of database_url's own parameters; added
    # first, before pytest's own hooks read the marks.
    if metafunc.definition.get_closest_marker("backend_independent"):
        metafunc.definition.add_marker(
            pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
        )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """Fail a test marked ``backend_independent`` that runs SQL: the database matters then."""
    if item.get_closest_marker("backend_independent") is None:
        return (yield)
    statements = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        result = yield
    finally:
        event.remove(Engine, "before_cursor_execute", record)
    if statements:
        pytest.fail(
            f"marked backend_independent, yet ran {len(statements)} SQL statements, "
            f"the first: {statements[0]}"
        )
    return result


def pytest_terminal_summary(terminalreporter):
    terminalreporter.write_line(f"PostgreSQL tests passed: {_postgresql_passed}")


@contextmanager
def empty_database(backend, tmp_path):
    """Yield the URL of a new, empty database of ``backend``; remove it afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / f'catalog-{secrets.token_hex(4)}.sqlite'}"
        return
    if admin_url() is None:
        pytest.skip("TEST_DATABASE_URL is not set")
    with throwaway_postgresql_database() as url:
        yield url


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request, tmp_path_factory):
    """Yield the URL of a migrated database for each backend, shared by the session."""
    with empty_database(request.param, tmp_path_factory.mktemp("db")) as url:
        _migrate(url)
        yield url


@pytest.fixture(params=BACKENDS)
def empty_database_url(request, tmp_path):
    """Yield the URL of a new database with no schema at all, for each backend."""
    with empty_database(request.param, tmp_path) as url:
        yield url


def _migrate(url):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        db.engine.dispose()


# Starts every sequence of the schema (the tables' ids) over, as TRUNCATE's RESTART IDENTITY.
_RESTART_SEQUENCES = (
    "SELECT setval(format('%I.%I', schemaname, sequencename), start_value, false) "
    "FROM pg_sequences WHERE schemaname = current_schema()"
)


def _empty_tables():
    """Delete every row, children first, and start the ids over, as in a new database."""
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    if db.engine.dialect.name == "postgresql":
        # DELETE rather than TRUNCATE, in one round trip: on tables this small TRUNCATE,
        # which gives every table new files, takes about 15 ms, DELETE about 2.
        deletes = [f"DELETE FROM {name}" for name in tables]
        db.session.execute(text("; ".join([*deletes, _RESTART_SEQUENCES])))
    else:
        for name in tables:
            db.session.execute(text(f"DELETE FROM {name}"))
    db.session.commit()


@pytest.fixture
def make_app():
    """Return a factory for test apps; settings given to it override the defaults.

    Apps made here have no database unless given ``SQLALCHEMY_DATABASE_URI``.
    """
    apps = []

    def make(**settings):
        config = {
            "TESTING": True,
            "SECRET_KEY": "test-secret-key",
            "WTF_CSRF_ENABLED": False,
        }
        config.update(settings)
        app = create_app(config)
        apps.append(app)
        return app

    yield make
    for app in apps:
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def app(make_app, database_url):
    """An app on an empty, migrated database (SQLite and PostgreSQL)."""
    app = make_app(SQLALCHEMY_DATABASE_URI=database_url)
    with app.app_context():
        _empty_tables()
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def signed_in(app):
    """Return a function that gives a new test client signed in as a demo user."""

    def sign_in(subject):
        client = app.test_client()
        assert AuthActions(client).login(subject).status_code == 302
        return client

    return sign_in


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def count_queries(app):
    """Return a context manager that counts the SQL statements run inside it.

    ``with count_queries() as queries: ...`` then ``len(queries)`` and the
    statements themselves in ``queries`` for a helpful failure message.
    """

    @contextmanager
    def counting():
        statements = []

        def record(conn, cursor, statement, parameters, context, executemany):
            statements.append(statement)

        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", record)
        try:
            yield statements
        finally:
            event.remove(engine, "before_cursor_execute", record)

    return counting


@pytest.fixture(scope="session")
def oidc_provider():
    """An OpenID Connect provider shared by the whole test session."""
    with provider_in_thread() as provider:
        yield provider


@pytest.fixture
def unreachable_url():
    """Return the base URL of a loopback port that nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture(scope="session")
def cluster():
    """Yield a started throwaway PostgreSQL cluster of the fault tests' own; remove it after.

    It runs on a spare port, so tests may stop and restart it; the shared server is never
    touched. Tests that stop it start it again before they end, whatever happens. Like
    every PostgreSQL test, those using it are skipped without ``TEST_DATABASE_URL``.
    """
    if admin_url() is None:
        pytest.skip("TEST_DATABASE_URL is not set: PostgreSQL tests are off")
    try:
        made = Cluster()
    except RuntimeError as exc:  # no initdb/pg_ctl on this machine
        if os.environ.get("CI"):
            pytest.fail(str(exc))
        pytest.skip(str(exc))
    try:
        made.start()
        yield made
    finally:
        made.remove()


@pytest.fixture(scope="module")
def slug(tmp_path_factory):
    """Copy the app as a push would ship it: no .env, no instance folder, no virtualenv."""
    target = tmp_path_factory.mktemp("slug")
    for name in shipped_files():
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target / name)
    return target


@pytest.fixture
def redis_server(tmp_path):
    """A Redis server of the test's own, on a loopback port, stopped after the test."""
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed (apt-get install redis-server)")
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()
