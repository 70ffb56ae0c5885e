"""Who is asking: the user a request's session cookie or API token names.

Sign-in writes the session (catalog.auth), the API lets writes through by token
(catalog.api.bearer), and the rate limits key every write by the answer before any
view runs (catalog.web.limits). All of them read it here, so that they agree, and so
that the limits need no feature to find out.

The signed session cookie holds the id of a ``UserSession`` row and, beside it, the
user's id: the limits read that id without a query, while ``catalog.web.users``
loads the user through the row, so a cookie whose session was ended names nobody.
A token is looked up once per request and remembered in ``g``: the limiter asks
before the view runs, and the view reuses the answer.
"""

from flask import g, request, session

from catalog.models import User
from catalog.tokens import user_for_token

SESSION_ID = "sid"
# Also in the (signed) cookie so that rate limits can key on the user before it is loaded.
SESSION_USER = "user_id"


def bearer_secret() -> str | None:
    """Return the token in ``Authorization: Bearer <token>``, or None when there is none."""
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    return secret.strip()


def token_user() -> User | None:
    """Return the user whose token this request carries, or None; look it up only once."""
    if "api_user" not in g:
        secret = bearer_secret()
        g.api_user = user_for_token(secret) if secret else None
    user: User | None = g.api_user
    return user


def session_user_id() -> int | None:
    """Return the id of the user this request's session cookie was signed in as, or None."""
    return session.get(SESSION_USER)


def user_id() -> int | None:
    """Return the id of who is asking: a token's owner when one is sent, else the session's."""
    if bearer_secret() is not None:
        user = token_user()
        return user.id if user is not None else None
    return session_user_id()
