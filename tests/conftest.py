"""Fixtures in the manner of flaskr: ``app``, ``client``, ``runner``, each on every database.

SQLite always runs. PostgreSQL runs too when ``TEST_DATABASE_URL`` points at a
server: the suite creates a throwaway database there, migrates it once, and
drops it at the end. Every test starts from empty tables.
"""

import os
import re
import secrets
from contextlib import contextmanager

import psycopg
import pytest
import redis
from flask_migrate import upgrade
from sqlalchemy import event, text

from catalog import create_app
from catalog.extensions import db
from catalog.models import Base

BACKENDS = ["sqlite", "postgresql"]
# The OpenID Connect provider fixtures (a real provider on a loopback port), and the fault
# tests' own PostgreSQL cluster.
pytest_plugins = ["oidc_provider", "faults"]
_postgresql_passed = 0


def admin_url() -> str | None:
    """Return ``TEST_DATABASE_URL`` as a plain libpq URL, or None when unset."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return None
    return re.sub(r"^postgres(ql)?(\+psycopg)?://", "postgresql://", url)


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
    global _postgresql_passed
    report = yield
    if report.when == "call" and report.passed and on_postgresql(item):
        _postgresql_passed += 1
    return report


def pytest_terminal_summary(terminalreporter):
    terminalreporter.write_line(f"PostgreSQL tests passed: {_postgresql_passed}")


@contextmanager
def throwaway_postgresql_database(prefix="catalog_test"):
    """Create an empty PostgreSQL database next to ``TEST_DATABASE_URL``; drop it afterwards.

    Yields its SQLAlchemy URL in the ``postgres://`` form the platform hands out.
    """
    base = admin_url()
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield re.sub(r"/[^/?]*(\?|$)", rf"/{name}\1", base, count=1).replace(
            "postgresql://", "postgres://", 1
        )
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def redis_keys(url: str, pattern: str):
    """Yield ``url`` once the Redis there answers; delete keys matching ``pattern`` after.

    A Redis that does not answer skips the test, or fails it under CI, where one runs.
    """
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError:
        if os.environ.get("CI"):
            pytest.fail(f"Redis does not answer at {url}")
        pytest.skip(f"Redis does not answer at {url}")
    try:
        yield url
    finally:
        for key in client.scan_iter(pattern):
            client.delete(key)
        client.close()


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


def _empty_tables():
    tables = [t.name for t in Base.metadata.sorted_tables]
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    else:
        for name in reversed(tables):
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


class AuthActions:
    """Sign a test client in and out quickly through dev sign-in, as flaskr's ``auth`` does.

    The demo users are ``ada``, ``sam`` and ``lena``; the full OpenID Connect flow
    has its own tests. CSRF tokens are picked from the page when CSRF is on.
    """

    def __init__(self, client):
        self.client = client

    def _token(self) -> dict:
        page = self.client.get("/login", follow_redirects=True).get_data(as_text=True)
        token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page)
        return {"csrf_token": token.group(1)} if token else {}

    def login(self, subject="ada", next=None):
        data = {"subject": subject, **self._token()}
        if next is not None:
            data["next"] = next
        return self.client.post("/login/dev", data=data)

    def logout(self):
        return self.client.post("/logout", data=self._token())


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
