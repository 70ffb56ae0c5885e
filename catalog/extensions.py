"""The extension objects every app of the process shares, unbound; ``create_app`` binds them.

Here: ``db`` and ``migrate``, bound by ``init_app``, and ``csrf`` and ``limiter``,
bound by catalog.web in their place among the request hooks (their checks are
``before_request`` hooks whose order matters).

Built per app elsewhere, because each keeps one app's state on its instance, so one
object shared by the many apps of a process (tests make hundreds) would serve the
last app's settings to all: Talisman (catalog.web.security; FORCE_HTTPS and the
cookie flags live on it), Authlib's OAuth registry with the OpenID Connect client
(catalog.oidc; it caches its clients for one app), and flask-smorest's ``Api``
(catalog.api; it holds one app's OpenAPI spec). Each is kept in ``app.extensions``.
"""

import sqlite3
from pathlib import Path
from typing import Any

from flask import Flask, g, has_app_context
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session as FlaskSession
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from catalog.models import Base

# The name in ``g`` under which a read-only request puts the engine of the replica it reads;
# in ``g`` rather than in the session's ``info``, as a streamed answer outlives the session.
READ_FROM = "catalog.read_from"


def migrations_directory() -> str:
    """Return the folder of the app's Alembic migrations."""
    # Inside the package once it is installed from a wheel (pyproject.toml puts it there),
    # beside it in a checkout or an editable install.
    package = Path(__file__).resolve().parent
    installed = package / "migrations"
    return str(installed if installed.is_dir() else package.parent / "migrations")


class Session(FlaskSession):
    """Flask-SQLAlchemy's session, reading from the replica a read-only request chose.

    catalog.web.replicas puts the replica's engine in ``g`` before the request's first
    statement, and only for a view marked to only read; a flush (a write) still goes to
    the primary, where it belongs, whatever the request chose.
    """

    def get_bind(
        self,
        mapper: Any | None = None,
        clause: Any | None = None,
        bind: Engine | Connection | None = None,
        **kwargs: Any,
    ) -> Engine | Connection:
        replica: Engine | None = g.get(READ_FROM) if has_app_context() else None
        if replica is not None and bind is None and not self._flushing:
            return replica
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)


# Models derive from our own Base; the extension only needs its metadata.
db = SQLAlchemy(metadata=Base.metadata, session_options={"class_": Session})
# Found from the package, not the working directory, so `flask db upgrade` works from anywhere.
migrate = Migrate(
    directory=migrations_directory(), render_as_batch=True, compare_server_default=True
)
# Checks the token on every POST/PUT/PATCH/DELETE; token-authenticated APIs exempt themselves.
csrf = CSRFProtect()
# Keyed by address unless a limit says otherwise; catalog.web.limits sets the limits, and
# REDIS_URL, when set, makes every process count together. Fixed-window is the cheapest
# strategy in Redis (one INCR per hit). When Redis does not answer, the same limits count
# in this process's memory until it does again (catalog.web.limits says how); an error the
# fallback cannot absorb is logged and the request goes through.
limiter = Limiter(
    key_func=get_remote_address,
    strategy="fixed-window",
    headers_enabled=True,
    in_memory_fallback_enabled=True,
    swallow_errors=True,
)


def init_app(app: Flask) -> None:
    """Bind the database and the migrations to ``app``; the web plumbing binds the rest."""
    db.init_app(app)
    migrate.init_app(app, db)
    with app.app_context():
        engines = list(db.engines.values())
    for engine in engines:
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_driver_leaves_transactions_alone)
            event.listen(engine, "before_cursor_execute", _sqlite_begin_before_writing)


# SQLite's transactions, so that savepoints work: the helpers that change data flush in a
# savepoint (catalog.changes), and the view alone commits or rolls back. Python's sqlite3
# driver begins a transaction by itself only before INSERT, UPDATE, DELETE and REPLACE,
# not before a SAVEPOINT: a savepoint that comes first then makes a transaction of its
# own, and releasing it commits, under the view's feet. So, as SQLAlchemy's documentation
# for pysqlite says ("Serializable isolation / Savepoints / Transactional DDL"), the driver
# is told to leave transactions alone (``isolation_level = None``) and BEGIN is sent here.
#
# It is sent before the first statement that writes or sets a savepoint, not before the
# first of all as the documentation's recipe does in its "begin" event. Reads before a
# write then see the latest commit, as they did: with the recipe, a transaction that had
# read before another writer committed could no longer write ("database is locked", at
# once: SQLite will not let a stale read become a write), which turned every race the
# tests run (two edits, two creates of one name or one Idempotency-Key, two sign-ins of
# a new user) from a 409 or a stored answer into a 503, and it counted a BEGIN among each
# page's statements. It is BEGIN IMMEDIATE, which waits (busy_timeout) for the write lock
# before anything of the transaction is read: a write that fires the search index's
# triggers (migration 0008) reads FTS5's own tables first, and a read transaction that
# another writer then overtook could no longer write ("database is locked" at once,
# where the race was the constraint's to decide). On PostgreSQL none of this applies.
_SQLITE_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "SAVEPOINT")


def _sqlite_driver_leaves_transactions_alone(
    dbapi_connection: sqlite3.Connection, connection_record: object
) -> None:
    dbapi_connection.isolation_level = None


def _sqlite_begin_before_writing(
    connection: Connection,
    cursor: sqlite3.Cursor,
    statement: str,
    parameters: object,
    context: object,
    many: bool,
) -> None:
    """Begin a transaction, taking the write lock, before a statement that writes or sets
    a savepoint, once."""
    dbapi_connection = cursor.connection
    if not dbapi_connection.in_transaction and statement.lstrip()[:9].upper().startswith(
        _SQLITE_WRITES
    ):
        dbapi_connection.execute("BEGIN IMMEDIATE")


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: object, connection_record: object) -> None:
    """Make SQLite enforce foreign keys and let readers and a writer work at once."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()
