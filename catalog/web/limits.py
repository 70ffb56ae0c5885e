"""Rate limits (Flask-Limiter): sign-in per address, and every write per user or address.

Each blueprint with a route that changes data opts in beside its ``bp =`` with
``limit_writes(bp)`` (and sign-in with ``limit_sign_in``), so this module needs no
feature; a test walks the app's URL map and writes to every route that is not a GET.
Writes are keyed by who makes them (``catalog.identity``): the signed-in user (from
the signed session cookie, so the check needs no query), the owner of the request's
API token, or else the client's address. Counters live in Redis when ``REDIS_URL``
is set, so that every process and host counts together; in memory otherwise.

Redis is a helper, not a dependency: a Redis that is down or hangs must neither take
the site down nor lift the limits. Every call to it gives up after ``REDIS_TIMEOUT``
(a second, where Redis answers in a fraction of a millisecond), so a hung one costs a
request a second instead of a worker. The first call that fails switches the limiter
to Flask-Limiter's in-memory fallback: the same limits, counted by each process on its
own, with one warning in the log. While it lasts, Flask-Limiter asks Redis again (a
``PING``) on a limited request after 1, 2, 4 ... 32 s, then from 1 s again, and goes
back to counting in Redis, with a line in the log, as soon as one answers.
"""

import logging
from functools import partial
from typing import Any

import redis
from flask import Blueprint, Flask, current_app, request
from flask.globals import _cv_request
from flask.logging import default_handler
from flask_limiter.util import get_remote_address
from redis.backoff import NoBackoff
from redis.retry import Retry

from catalog import identity
from catalog.extensions import limiter
from catalog.web import hooks, outages

SETTINGS = {
    "RATELIMIT_ENABLED": True,
    # Each write by one user or address; generous for people, a brake for runaway scripts.
    "RATELIMIT_WRITES": "60 per minute",
    # Starting or finishing a sign-in, per address.
    "RATELIMIT_SIGN_IN": "10 per minute",
    "RATELIMIT_HEADER_RETRY_AFTER_VALUE": "delta-seconds",
}
# Seconds to connect to Redis, and to wait for any answer of its.
REDIS_TIMEOUT = 1
READS = frozenset({"GET", "HEAD", "OPTIONS"})
# The endpoints that start or finish a sign-in, as ``limit_sign_in`` names them.
SIGN_IN: set[str] = set()


def redis_options() -> dict[str, Any]:
    """Return redis-py's options for every client of Redis: the limiter, /healthz, doctor."""
    return {
        "socket_connect_timeout": REDIS_TIMEOUT,
        "socket_timeout": REDIS_TIMEOUT,
        # redis-py retries three times with growing pauses by default, which would turn
        # a one-second timeout into ten. Retry once, at once, on a dropped connection (a
        # pooled one that a restarted Redis closed); never after a timeout.
        "retry": Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,)),
    }


def redis_client(url: str) -> redis.Redis:
    """Return a client of the Redis at ``url`` whose every call is bounded."""
    return redis.Redis.from_url(url, **redis_options())


def limit_key() -> str:
    """Name who is asking: ``user:<id>`` when known, else ``address:<ip>``."""
    try:
        user_id = identity.user_id()
    except outages.UNAVAILABLE:
        # The limiter would swallow this and leave the session broken; roll back so
        # that the view meets the outage itself and answers 503.
        outages.discard_session()
        user_id = None
    if user_id is not None:
        return f"user:{user_id}"
    return f"address:{get_remote_address()}"


def write_limit() -> str:
    return str(current_app.config["RATELIMIT_WRITES"])


def sign_in_limit() -> str:
    return str(current_app.config["RATELIMIT_SIGN_IN"])


def is_read() -> bool:
    return request.method in READS


def is_not_sign_in() -> bool:
    return request.endpoint not in SIGN_IN


@limiter.request_filter
def is_unlimited() -> bool:
    """Spare reads other than sign-in every limit's bookkeeping: none of them is limited."""
    return request.method in READS and request.endpoint not in SIGN_IN


def is_limited() -> bool:
    return not is_unlimited()


def limiter_ran() -> bool:
    """Tell whether the limiter looked at this request (it keeps its state on the context)."""
    # Looked up in the context's own attributes: hasattr through the proxy would raise
    # and catch an AttributeError on every request the limiter skipped.
    return "_limiter_request_context" in vars(_cv_request.get())


def _writes_message() -> str:
    return (
        f"Too many changes in a short time (the limit is {write_limit()}); "
        "wait a moment and try again."
    )


def _sign_in_message() -> str:
    return (
        f"Too many sign-in attempts from your address (the limit is {sign_in_limit()}); "
        "wait a moment and try again."
    )


# The limiter is one object per process, so its limits are declared once, here. Each is
# one budget shared by all the routes it covers: a user's writes count together.
_writes = limiter.shared_limit(
    write_limit,
    scope="writes",
    key_func=limit_key,
    exempt_when=is_read,
    error_message=_writes_message,
)
_sign_in = limiter.shared_limit(
    sign_in_limit,
    scope="sign-in",
    key_func=get_remote_address,
    exempt_when=is_not_sign_in,
    error_message=_sign_in_message,
)


def limit_writes(bp: Blueprint) -> None:
    """Count every write to ``bp``'s routes against the one budget of ``RATELIMIT_WRITES``."""
    _writes(bp)


def limit_sign_in(bp: Blueprint, *views: str) -> None:
    """Count each request to ``bp``'s ``views`` against its address's ``RATELIMIT_SIGN_IN``."""
    SIGN_IN.update(f"{bp.name}.{view}" for view in views)
    _sign_in(bp)


def init_app(app: Flask) -> None:
    for name, value in SETTINGS.items():
        # Set even when unchanged: Flask-Limiter carries some settings over from the
        # previous app in the process when an app leaves them out.
        app.config.setdefault(name, value)
    if not app.config.get("RATELIMIT_STORAGE_URI"):
        app.config["RATELIMIT_STORAGE_URI"] = app.config.get("REDIS_URL") or "memory://"
    app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", redis_options())
    # The limiter outlives the apps of a process (tests make many): a new app's store
    # starts out presumed alive, not in the fallback an earlier app's outage left.
    limiter._storage_dead = False
    limiter.init_app(app)
    # The limiter's hooks would run for every request; on a read it does not limit, its
    # own filter (is_unlimited) lets it through, after it looked the view up, and its
    # after-request and teardown hooks make its state for the request only to find it
    # empty. Skipped then, they cost a test each.
    hooks.guard_before(app, limiter._check_request_limit, is_limited)
    hooks.guard_after(
        app, lambda hook: isinstance(hook, partial) and hook.args == (limiter,), limiter_ran
    )
    release = limiter._Limiter__release_context  # type: ignore[attr-defined]  # name-mangled
    hooks.guard_teardown(app, release, limiter_ran)
    # Flask-Limiter logs when it falls back (a warning) and when Redis is back (info) on
    # its own logger, which nothing prints at info; print it where the app's lines go.
    if default_handler not in limiter.logger.handlers:
        limiter.logger.addHandler(default_handler)
    if limiter.logger.level == logging.NOTSET:
        limiter.logger.setLevel(logging.INFO)
