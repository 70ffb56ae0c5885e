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
  see the same snapshot, are not marked and keep their transaction.

SQLite needs neither: it has no server to lose and no round trips.
"""

import select
from collections.abc import Callable
from typing import Any, TypeVar, cast

import psycopg
from flask import Flask, current_app, request
from psycopg import pq
from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import Pool

from catalog.extensions import db

# A view, a function or a method of a class-based view.
V = TypeVar("V", bound=Callable[..., Any])
READ_METHODS = frozenset({"GET", "HEAD"})
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
    """Mark ``view`` as one that only reads: on PostgreSQL it runs without a transaction."""
    cast(Any, view).read_only = True  # a function takes attributes; mypy cannot tell
    return view


def reads_only() -> bool:
    """Tell whether the request's view is marked ``@read_only`` for its method."""
    if request.method not in READ_METHODS or request.endpoint is None:
        return False
    view = current_app.view_functions.get(request.endpoint)
    # A class-based view (the API's resources) is marked method by method.
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        view = getattr(view_class, "get", None)
    return getattr(view, "read_only", False)


def use_autocommit_for_reads() -> None:
    """Give a read-only request its connection in autocommit, before anything queries."""
    if reads_only() and db.engine.dialect.name == "postgresql":
        db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


def init_app(app: Flask) -> None:
    """Register the read-only rule; ``catalog.web`` installs it before any hook that queries."""
    app.before_request(use_autocommit_for_reads)
