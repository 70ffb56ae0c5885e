"""When the database cannot answer, say so: 503 with ``Retry-After``, never a 500.

These errors are about the database's state, not about the request or the code, and
they pass by themselves, so the answer is "try again shortly":

- ``OperationalError``: the DBAPI's class for trouble in the database's operation
  (PEP 249): connection refused or lost, the server shutting down or starting up,
  a statement cancelled by ``statement_timeout`` (psycopg's ``QueryCanceled``), a
  lock or busy timeout.
- ``InterfaceError``: the connection itself is unusable (already closed, broken).
- ``DisconnectionError``: the pool found a connection dead and could not replace it.
- ``TimeoutError``: every connection in the pool stayed busy for ``pool_timeout``.

A cancelled statement is a 503, not a 504: this app is the origin, not a gateway, and
a statement running that long means the database is overloaded or a lock is held, both
of which pass. Everything else (``IntegrityError``, ``DataError``, ``ProgrammingError``...)
means a request or the code is wrong, and stays a 4xx decided by the views, or a 500.

SQLAlchemy invalidates a connection that failed with a disconnect, and the whole
pool with it, so the next checkout opens fresh connections: the app recovers by
itself as soon as the database answers, with no worker restart.
"""

import logging

from flask import Flask, Response, g
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import (
    DisconnectionError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import ServiceUnavailable

from catalog.extensions import db
from catalog.web.errors import render_error

UNAVAILABLE = (OperationalError, InterfaceError, DisconnectionError, PoolTimeout)
# Seconds a client should wait before trying again: about what a restart or failover takes.
RETRY_AFTER = 5
MESSAGE = (
    "The catalog's database is not answering or is too busy right now. "
    "Nothing was changed; please try again in a few seconds."
)

log = logging.getLogger(__name__)


def reason(error: BaseException) -> str:
    """Return the first line of what the database said, for one log line."""
    cause = getattr(error, "orig", None) or error
    lines = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {lines[0] if lines else ''}"


def discard_session() -> None:
    """Roll back what this request did; the dead connection is dropped, not reused."""
    try:
        db.session.rollback()
    except SQLAlchemyError:  # the rollback met the same outage; the pool drops the connection
        log.debug("rollback failed during an outage", exc_info=True)


def database_unavailable(error: SQLAlchemyError) -> ResponseReturnValue:
    """Answer 503 with ``Retry-After``: a page, or problem+json under /api/."""
    log.warning("database unavailable: %s", reason(error))
    discard_session()
    # The signed-in user was loaded through the failed session; the page must not touch it.
    g.user = None
    g.database_unavailable = True
    return render_error(ServiceUnavailable(description=MESSAGE, retry_after=RETRY_AFTER))


def release_session(error: BaseException | None) -> None:
    """End the request's transaction, even if the database went away after it answered.

    A request can read everything it needs and render its page, and then find its
    connection gone when the transaction is rolled back at the end; the answer is
    fine, so the lost connection is dropped (SQLAlchemy invalidates it) instead of
    turning that answer into a 500.
    """
    if not db.session.registry.has():
        return
    try:
        db.session.close()
    except UNAVAILABLE as lost:
        log.warning("database connection lost at the end of a request: %s", reason(lost))


def keep_retry_after(response: Response) -> Response:
    """Say when to retry the database, not when a rate limit's window ends.

    The rate limiter stamps every limited answer with its window's reset, often a
    minute away, and would make clients wait that long after a short outage.
    """
    if g.pop("database_unavailable", False):
        response.headers["Retry-After"] = str(RETRY_AFTER)
    return response


def init_app(app: Flask) -> None:
    """Register the 503 answers; ``catalog.web`` installs them after the database and
    before the limits, so that their after-request and teardown hooks run in the right order.
    """
    for error in UNAVAILABLE:
        app.register_error_handler(error, database_unavailable)
    app.after_request(keep_retry_after)
    app.teardown_appcontext(release_session)
