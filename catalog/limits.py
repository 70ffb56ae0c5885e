"""Rate limits (Flask-Limiter): sign-in per address, and every write per user or address.

Writes are keyed by who makes them: the signed-in user (from the signed session
cookie, so the check needs no query), the owner of the request's API token, or
else the client's address. Counters live in Redis when ``REDIS_URL`` is set, so
that every process and host counts together; in memory otherwise.
"""

from flask import current_app, request, session
from flask_limiter.util import get_remote_address

from catalog import auth, manage, outages, tokens
from catalog.api import routes as api_routes
from catalog.api.bearer import bearer_secret, token_user
from catalog.extensions import limiter

SETTINGS = {
    "RATELIMIT_ENABLED": True,
    # Each write by one user or address; generous for people, a brake for runaway scripts.
    "RATELIMIT_WRITES": "60 per minute",
    # Starting or finishing a sign-in, per address.
    "RATELIMIT_SIGN_IN": "10 per minute",
    "RATELIMIT_HEADER_RETRY_AFTER_VALUE": "delta-seconds",
}
READS = frozenset({"GET", "HEAD", "OPTIONS"})
SIGN_IN = frozenset({"auth.start", "auth.callback", "auth.dev_login"})
# Every blueprint with a route that changes data; tests check that none is missing.
WRITE_BLUEPRINTS = (auth.bp, manage.bp, tokens.bp, api_routes.bp)


def limit_key() -> str:
    """Name who is asking: ``user:<id>`` when known, else ``address:<ip>``."""
    user_id = None
    if bearer_secret() is not None:
        try:
            user = token_user()
        except outages.UNAVAILABLE:
            # The limiter would swallow this and leave the session broken; roll back so
            # that the view meets the outage itself and answers 503.
            outages.discard_session()
            user = None
        user_id = user.id if user is not None else None
    else:
        user_id = session.get(auth.SESSION_USER)
    if user_id is not None:
        return f"user:{user_id}"
    return f"address:{get_remote_address()}"


def write_limit() -> str:
    return current_app.config["RATELIMIT_WRITES"]


def sign_in_limit() -> str:
    return current_app.config["RATELIMIT_SIGN_IN"]


def is_read() -> bool:
    return request.method in READS


def is_not_sign_in() -> bool:
    return request.endpoint not in SIGN_IN


@limiter.request_filter
def is_unlimited() -> bool:
    """Spare reads other than sign-in every limit's bookkeeping: none of them is limited."""
    return request.method in READS and request.endpoint not in SIGN_IN


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
for _blueprint in WRITE_BLUEPRINTS:
    _writes(_blueprint)
limiter.shared_limit(
    sign_in_limit,
    scope="sign-in",
    key_func=get_remote_address,
    exempt_when=is_not_sign_in,
    error_message=_sign_in_message,
)(auth.bp)


def init_app(app):
    for name, value in SETTINGS.items():
        # Set even when unchanged: Flask-Limiter carries some settings over from the
        # previous app in the process when an app leaves them out.
        app.config.setdefault(name, value)
    if not app.config.get("RATELIMIT_STORAGE_URI"):
        app.config["RATELIMIT_STORAGE_URI"] = app.config.get("REDIS_URL") or "memory://"
    limiter.init_app(app)
