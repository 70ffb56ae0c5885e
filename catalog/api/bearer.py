"""Bearer-token authentication for the API's writes.

The token is looked up once per request and remembered in ``g``: the rate
limiter keys writes by the token's owner before the view runs, and the view
reuses the answer.
"""

import functools

from flask import abort, g, request
from werkzeug.datastructures import WWWAuthenticate

from catalog.models import User
from catalog.tokens import user_for_token

REALM = "Catalog API"
_UNSET = object()


def bearer_secret() -> str | None:
    """Return the token in ``Authorization: Bearer <token>``, or None when there is none."""
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    return secret.strip()


def token_user() -> User | None:
    """Return the user whose token this request carries, or None; look it up only once."""
    user = g.get("api_user", _UNSET)
    if user is _UNSET:
        secret = bearer_secret()
        user = user_for_token(secret) if secret else None
        g.api_user = user
    return user


def _unauthorized(description: str, error: str | None = None):
    parameters = {"realm": REALM}
    if error:
        parameters["error"] = error
    abort(401, description=description, www_authenticate=WWWAuthenticate("Bearer", parameters))


def token_required(view):
    """Let the request through only with a valid token; its owner is in ``g.api_user``."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if bearer_secret() is None:
            _unauthorized(
                "Send a personal API token as `Authorization: Bearer <token>`; "
                "create one on your account page."
            )
        if token_user() is None:
            _unauthorized("This token is unknown or has been revoked.", "invalid_token")
        return view(*args, **kwargs)

    return wrapped
