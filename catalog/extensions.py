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

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import event
from sqlalchemy.engine import Engine

from catalog.models import Base


def migrations_directory() -> str:
    """Return the folder of the app's Alembic migrations."""
    # Inside the package once it is installed from a wheel (pyproject.toml puts it there),
    # beside it in a checkout or an editable install.
    package = Path(__file__).resolve().parent
    installed = package / "migrations"
    return str(installed if installed.is_dir() else package.parent / "migrations")


# Models derive from our own Base; the extension only needs its metadata.
db = SQLAlchemy(metadata=Base.metadata)
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


def init_app(app) -> None:
    """Bind the database and the migrations to ``app``; the web plumbing binds the rest."""
    db.init_app(app)
    migrate.init_app(app, db)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    """Make SQLite enforce foreign keys and let readers and a writer work at once."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()
