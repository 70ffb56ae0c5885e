"""How requests use PostgreSQL connections: no round trip beyond the queries a page needs.

A page that runs one query used to cost four round trips to the server: a ping when
its pooled connection was checked out, BEGIN, the query, and ROLLBACK at the end.
Two rules bring that down to the query alone:

- A pooled connection is checked when it is checked out by looking at its socket,
  not by sending a statement. A server that restarts or ends a session (shutdown,
  ``pg_terminate_backend``, an idle timeout) tells the client so and closes the
  connection, which leaves the socket readable; an idle connection that is still
  open has nothing to read. Such a connection is dropped and a fresh one taken, as
  SQLAlchemy's ``pool_pre_ping`` would, before the request sees it. A connection
  found broken only when it is used still fails that request, with a 503
  (catalog.web.outages), and SQLAlchemy then drops every pooled connection.
- A view marked ``@read_only`` runs its statements, on GET and HEAD, on a connection
  in autocommit: each statement reads one consistent snapshot by itself, and no
  BEGIN or ROLLBACK is sent. Views that write, or that need several statements to
  see the same snapshot, are not marked and keep their transaction; those of them that
  only read are marked ``@reads_in_transaction``, so that a replica may serve them.

SQLite needs neither: it has no server to lose and no round trips.
"""

import functools
import select
from collections.abc import Callable
from typing import Any, TypeVar, cast

import psycopg
from flask import Flask, current_app, request
from psycopg import pq
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import Pool

from catalog.extensions import db
from catalog.web import replicas
from catalog.web.outages import UNAVAILABLE

# A view, a function or a method of a class-based view.
V = TypeVar("V", bound=Callable[..., Any])
READ_METHODS = frozenset({"GET", "HEAD"})
IN_TRANSACTION = "in transaction"
_NOTHING_TO_READ = select.POLLIN | select.POLLPRI | select.POLLERR | select.POLLHUP


def is_open(connection: psycopg.Connection) -> bool:
    """Tell, without a round trip, whether an idle ``connection`` can still be used.

    Anything waiting on an idle connection's socket (the server's goodbye, or the end
    of the stream) means the server has let it go; a false alarm only costs a reconnect.
    """
    if connection.closed or connection.pgconn.status != pq.ConnStatus.OK:
        return False
    if connection.info.transaction_status != pq.TransactionStatus.IDLE:
        return False
    poller = select.poll()
    poller.register(connection.pgconn.socket, _NOTHING_TO_READ)
    return not poller.poll(0)


@event.listens_for(Pool, "checkout")
def _drop_closed_connections(
    dbapi_connection: object, connection_record: object, connection_proxy: object
) -> None:
    """Make the pool replace a PostgreSQL connection the server has closed."""
    if isinstance(dbapi_connection, psycopg.Connection) and not is_open(dbapi_connection):
        # The pool invalidates this connection and checks out another (a new one).
        raise DisconnectionError("the server closed this pooled connection")


def read_only(view: V) -> V:
    """Mark ``view`` as one that only reads: on PostgreSQL it runs without a transaction.

    With replicas, a view whose replica goes away under it runs again on the primary.
    """

    @functools.wraps(view)
    def reading(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except UNAVAILABLE as exc:
            if not replicas.fall_back_to_primary(exc):
                raise
            return view(*args, **kwargs)

    cast(Any, reading).read_only = True  # a function takes attributes; mypy cannot tell
    return cast(V, reading)


def reads_in_transaction(view: V) -> V:
    """Mark ``view`` as one that only reads but needs its statements to agree.

    It keeps its transaction; with replicas, a replica may serve it (catalog.web.replicas).
    """
    cast(Any, view).read_only = IN_TRANSACTION
    return view


def read_marker() -> bool | str:
    """Return how the request's view for its method reads: True (autocommit),
    ``IN_TRANSACTION``, or False when it is not marked (it may write)."""
    if request.method not in READ_METHODS or request.endpoint is None:
        return False
    view = current_app.view_functions.get(request.endpoint)
    # A class-based view (the API's resources) is marked method by method.
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        view = getattr(view_class, "get", None)
    marker: bool | str = getattr(view, "read_only", False)
    return marker


def reads_only() -> bool:
    """Tell whether the request's view is marked ``@read_only`` for its method."""
    return read_marker() is True


def use_autocommit_for_reads() -> None:
    """Give a read-only request its connection in autocommit, before anything queries.

    With replicas, the connection is a replica's when one may serve (catalog.web.replicas),
    for views marked ``@reads_in_transaction`` too, in a transaction.
    """
    marker = read_marker()
    if marker and db.engine.dialect.name == "postgresql":
        replicas.open_for_reads(autocommit=marker is True)


def local_statement_timeout(seconds: int) -> Callable[[Connection], None]:
    """Return a ``begin`` listener that bounds each statement of the transaction it begins.

    Through PgBouncer in transaction pooling a server connection serves many clients in
    turn, so a session setting would leak to others or be lost; ``SET LOCAL`` lasts as
    long as the transaction. Statements in autocommit (the ``@read_only`` views) have no
    transaction to set it in: the role's own ``statement_timeout`` bounds them.
    """
    statement = f"SET LOCAL statement_timeout = {int(seconds) * 1000}"

    def set_timeout(connection: Connection) -> None:
        if connection.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            connection.exec_driver_sql(statement)

    return set_timeout


def init_app(app: Flask) -> None:
    """Register the read-only rule; ``catalog.web`` installs it before any hook that queries."""
    replicas.init_app(app)
    app.before_request(use_autocommit_for_reads)
    if app.config["DATABASE_PGBOUNCER"] and app.config["DATABASE_STATEMENT_TIMEOUT"]:
        with app.app_context():
            engine = db.engine
        if engine.dialect.name == "postgresql":
            timeout = local_statement_timeout(app.config["DATABASE_STATEMENT_TIMEOUT"])
            event.listen(engine, "begin", timeout)
