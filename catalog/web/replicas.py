"""Reads from followers: ``@read_only`` views on a replica, and nobody misses their own write.

With ``DATABASE_REPLICA_URL`` set, a request to a ``@read_only`` view (GET or HEAD)
reads from a replica; every other request, and any flush, uses the primary
(catalog.extensions.Session routes by what the request chose here).

- **Their own writes.** After a request commits on the primary, the primary's WAL
  insert position (``pg_current_wal_insert_lsn()``, one statement after the commit)
  goes in the session cookie. A later read goes to a replica only once that replica
  has replayed past it, so the writer reads from the primary meanwhile. Such a read on
  the primary moves the cookie's position up to what it saw (one more statement), so
  that a replica never shows a writer an older state after the primary showed a newer.
  A request with an API token always reads from the primary: programs that write keep
  no cookie.
- **A cached view of each replica.** Each process looks at the primary's position and
  at each replica's (``pg_is_in_recovery()``, ``pg_last_wal_replay_lsn()``) at most every
  ``RECHECK`` seconds, over the pools, from the request that finds the last look stale;
  no page pays a query for it otherwise. A replica's lag is the age of the oldest
  primary position so sampled that it has not replayed yet, which needs no clock shared
  between servers and reads as zero on an idle primary.
- **A sick replica costs speed only.** A replica that does not answer (down,
  refusing, over its connection limit), that is not in recovery, or that lags more
  than ``DATABASE_REPLICA_MAX_LAG`` seconds gets no reads; they go to the primary,
  with one warning in the log when it turns sick and one line when it is back. One
  that fails at the start of a request is marked sick at once and the request reads
  from the primary, as does a ``@read_only`` view whose replica fails under it (it runs
  again). A replica comes back only once it has replayed what the primary had a look
  before (about a second), so that the primary's answers meanwhile are not followed by
  older ones. Its connections give up after ``REPLICA_CONNECT_TIMEOUT`` seconds, and one
  that did not answer is asked again only every ``UNREACHABLE_RECHECK`` seconds.
- **Several replicas** share the reads: a browsing session (by its cookie, else by its
  address) keeps reading from the same healthy one.
"""

import logging
import threading
import time
import zlib
from collections import deque
from dataclasses import dataclass, field
from typing import Any, cast

from flask import Flask, Response, current_app, g, has_app_context, request, session
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session as OrmSession

from catalog.config import REPLICA_CONNECT_TIMEOUT, database_label, postgresql_engine_options
from catalog.extensions import READ_FROM, db
from catalog.identity import SESSION_ID, bearer_secret
from catalog.web.users import SESSIONLESS

log = logging.getLogger(__name__)

EXTENSION = "catalog.replicas"
# The session cookie's key for the primary's WAL position its user must see.
SEEN = "wal"
# Seconds between a process's looks at the primary's position and the replicas', and
# between looks at a replica that did not answer: a look at one that does not even refuse
# costs the request making it the connect timeout, so not every second.
RECHECK = 1.0
UNREACHABLE_RECHECK = 3.0
AUTOCOMMIT = {"isolation_level": "AUTOCOMMIT"}
PRIMARY_POSITION = text("SELECT pg_current_wal_insert_lsn()::text")
REPLICA_POSITION = text("SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text")


def lsn(value: str) -> int:
    """Return a PostgreSQL log position (``16/B374D848``) as a number of bytes."""
    high, _, low = value.partition("/")
    return (int(high, 16) << 32) + int(low, 16)


@dataclass
class Replica:
    """One follower: its engine and what this process last found out about it."""

    url: str
    engine: Engine
    # "ok", "unreachable", "not a standby", "lagging" or "unknown" before the first look.
    state: str = "unknown"
    replayed: int = 0
    lag: float = 0.0
    detail: str = ""
    # When an unreachable replica is looked at again.
    retry_at: float = float("-inf")

    @property
    def label(self) -> str:
        return database_label(self.url)

    def report(self) -> dict[str, Any]:
        """Return what /healthz says of this replica."""
        answer: dict[str, Any] = {"state": self.state}
        if self.state in ("ok", "lagging"):
            answer["lag_seconds"] = round(self.lag, 1)
        return answer


@dataclass
class Replicas:
    """The app's replicas, looked at every ``RECHECK`` seconds, and the choice of one."""

    replicas: list[Replica]
    max_lag: float
    # (monotonic time, primary position) samples, oldest first; enough to tell a lag
    # of twice the limit.
    samples: deque[tuple[float, int]] = field(default_factory=deque)
    checked: float = float("-inf")
    primary_answered: bool = True
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.samples = deque(maxlen=int(2 * self.max_lag / RECHECK) + 2)

    def refresh(self, force: bool = False) -> None:
        """Look at the primary and every replica again, if the last look is stale."""
        if not force and time.monotonic() - self.checked < RECHECK:
            return
        # One thread of a process looks; the others go on with the last answer.
        if not self.lock.acquire(blocking=force):
            return
        try:
            self._sample_primary()
            for replica in self.replicas:
                if force or replica.state != "unreachable" or time.monotonic() >= replica.retry_at:
                    self._look_at(replica)
            self.checked = time.monotonic()
        finally:
            self.lock.release()

    def _sample_primary(self) -> None:
        try:
            with db.engine.connect().execution_options(**AUTOCOMMIT) as connection:
                position = connection.execute(PRIMARY_POSITION).scalar_one()
        except SQLAlchemyError as exc:
            # The replicas may still serve reads; their lag is told from older samples.
            if self.primary_answered:
                log.warning("primary's WAL position unknown: %s", _first_line(exc))
            self.primary_answered = False
            return
        self.primary_answered = True
        self.samples.append((time.monotonic(), lsn(position)))

    def _look_at(self, replica: Replica) -> None:
        try:
            with replica.engine.connect().execution_options(**AUTOCOMMIT) as connection:
                in_recovery, replayed = connection.execute(REPLICA_POSITION).one()
        except SQLAlchemyError as exc:
            self._set(replica, "unreachable", _first_line(exc))
            return
        if not in_recovery or replayed is None:
            self._set(replica, "not a standby", "pg_is_in_recovery() is false")
            return
        replica.replayed = lsn(replayed)
        replica.lag = self.lag_of(replica.replayed)
        # Back from sickness only once it has what the primary had at the previous look:
        # the primary served its reads meanwhile, and nobody should then see an older state.
        previous = self.samples[-2][1] if len(self.samples) > 1 else 0
        if replica.lag > self.max_lag:
            self._set(replica, "lagging", f"{replica.lag:.1f} s behind the primary")
        elif replica.state != "ok" and replica.replayed < previous:
            self._set(replica, "lagging", "catching up with what the primary served")
        else:
            self._set(replica, "ok", "")

    def lag_of(self, replayed: int) -> float:
        """Return how long ago the primary was at a position ``replayed`` has not reached."""
        for sampled, position in self.samples:
            if position > replayed:
                return time.monotonic() - sampled
        return 0.0

    def _set(self, replica: Replica, state: str, detail: str) -> None:
        if state != replica.state:
            if state == "ok":
                log.warning("replica %s is back: reads go to it again", replica.label)
            else:
                log.warning(
                    "replica %s is %s (%s): its reads go to the primary",
                    replica.label,
                    state,
                    detail,
                )
        replica.state, replica.detail = state, detail
        if state == "unreachable":
            replica.retry_at = time.monotonic() + UNREACHABLE_RECHECK

    def mark_unreachable(self, replica: Replica, error: BaseException) -> None:
        """Note that ``replica`` failed a request; it is asked again at the next look."""
        with self.lock:
            self._set(replica, "unreachable", _first_line(error))

    def choose(self, needed: int, key: str) -> Replica | None:
        """Return a healthy replica that has replayed ``needed``, or None for the primary."""
        self.refresh()
        usable = [r for r in self.replicas if r.state == "ok" and r.replayed >= needed]
        if not usable:
            return None
        return usable[zlib.crc32(key.encode()) % len(usable)]

    def dispose(self) -> None:
        for replica in self.replicas:
            replica.engine.dispose()


def _first_line(error: BaseException) -> str:
    cause = getattr(error, "orig", None) or error
    lines = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {lines[0] if lines else ''}"


def replicas() -> Replicas | None:
    """Return the app's replicas, or None when ``DATABASE_REPLICA_URL`` is unset."""
    found: Replicas | None = current_app.extensions.get(EXTENSION)
    return found


def open_for_reads(autocommit: bool = True) -> None:
    """Open a read-only request's connection, on a replica when one may serve it.

    Called by catalog.web.connections for the views marked to only read, on PostgreSQL,
    before anything queries; in autocommit for ``@read_only`` views, in a transaction for
    ``@reads_in_transaction`` ones. A replica that fails here is marked sick, and the
    primary serves.
    """
    options = AUTOCOMMIT if autocommit else None
    replica = _replica_for_this_request()
    if replica is not None:
        setattr(g, READ_FROM, replica.engine)
        try:
            db.session.connection(execution_options=options)
            return
        except SQLAlchemyError as exc:
            cast(Replicas, replicas()).mark_unreachable(replica, exc)
            db.session.rollback()
            g.pop(READ_FROM)
            g.read_on_primary = True
    if autocommit:
        db.session.connection(execution_options=options)


def fall_back_to_primary(error: BaseException) -> bool:
    """After ``error`` on the request's replica, mark it sick and read from the primary.

    Return False, changing nothing, when the request was not reading from a replica.
    """
    engine = g.get(READ_FROM)
    followers = replicas()
    if engine is None or followers is None:
        return False
    for replica in followers.replicas:
        if replica.engine is engine:
            followers.mark_unreachable(replica, error)
    try:
        db.session.rollback()
    except SQLAlchemyError:  # the connection is gone; the pool drops it
        log.debug("rollback on a lost replica failed", exc_info=True)
    g.pop(READ_FROM)
    g.read_on_primary = True
    db.session.connection(execution_options=AUTOCOMMIT)
    return True


def _replica_for_this_request() -> Replica | None:
    followers = replicas()
    # Pictures' answers must not vary by cookie (catalog.web.users), so their requests
    # cannot tell whose they are: they read the primary, which has every picture at once.
    if followers is None or bearer_secret() is not None or request.endpoint in SESSIONLESS:
        return None
    needed = session.get(SEEN, 0)
    key = str(session.get(SESSION_ID) or request.remote_addr)
    replica = followers.choose(needed if isinstance(needed, int) else 0, key)
    if replica is None:
        g.read_on_primary = True
    return replica


def _note_commit(orm_session: OrmSession) -> None:
    """Note that the request committed, so that its answer remembers the primary's position."""
    if (
        has_app_context()
        and EXTENSION in current_app.extensions
        and db.session.registry.has()
        and orm_session is db.session.registry()
    ):
        g.committed = True


def remember_position(response: Response) -> Response:
    """Put the primary's position in the cookie after a commit, or after a writer's read.

    A read is followed only when the cookie already holds a position (its user wrote),
    so that other visitors' answers set no cookie.
    """
    if replicas() is None or bearer_secret() is not None:
        return response
    wrote = g.pop("committed", False)
    if not wrote and not (g.pop("read_on_primary", False) and SEEN in session):
        return response
    try:
        # On the request's own connection, so that a pool of one connection is enough: the
        # read's, in autocommit, or a new one in autocommit after the commit (no BEGIN).
        if db.session().in_transaction():
            position = lsn(db.session.execute(PRIMARY_POSITION).scalar_one())
        else:
            connection = db.session.connection(execution_options=AUTOCOMMIT)
            position = lsn(connection.execute(PRIMARY_POSITION).scalar_one())
    except SQLAlchemyError as exc:
        # The answer stands; the next read may come from a replica a little behind.
        log.warning("primary's WAL position unknown after a request: %s", _first_line(exc))
        return response
    if position > session.get(SEEN, 0):
        session[SEEN] = position
    return response


def init_app(app: Flask) -> None:
    """Make the replicas' engines when ``DATABASE_REPLICA_URL`` names some."""
    urls = app.config["DATABASE_REPLICA_URL"]
    if not urls:
        return
    app.extensions[EXTENSION] = Replicas(
        [
            Replica(
                url,
                create_engine(
                    url,
                    **postgresql_engine_options(app.config, url, REPLICA_CONNECT_TIMEOUT),
                ),
            )
            for url in urls
        ],
        max_lag=float(app.config["DATABASE_REPLICA_MAX_LAG"]),
    )
    if not event.contains(OrmSession, "after_commit", _note_commit):
        event.listen(OrmSession, "after_commit", _note_commit)
    app.after_request(remember_position)
