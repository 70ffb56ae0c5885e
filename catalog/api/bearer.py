"""Bearer-token authentication for the API's writes.

Which user a request's token names is ``catalog.identity``'s to say (the rate
limiter asks it too); this module turns a missing or unknown token into 401.
"""

import functools
from collections.abc import Callable
from typing import NoReturn, ParamSpec, TypeVar

from flask import abort
from werkzeug.datastructures import WWWAuthenticate

from catalog.identity import bearer_secret, token_user

REALM = "Catalog API"
P = ParamSpec("P")
R = TypeVar("R")


def _unauthorized(description: str, error: str | None = None) -> NoReturn:
    parameters: dict[str, str | None] = {"realm": REALM}
    if error:
        parameters["error"] = error
    abort(401, description=description, www_authenticate=WWWAuthenticate("Bearer", parameters))


def token_required(view: Callable[P, R]) -> Callable[P, R]:
    """Let the request through only with a valid token; its owner is in ``g.api_user``."""

    @functools.wraps(view)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
        if bearer_secret() is None:
            _unauthorized(
                "Send a personal API token as `Authorization: Bearer <token>`; "
                "create one on your account page."
            )
        if token_user() is None:
            _unauthorized("This token is unknown or has been revoked.", "invalid_token")
        return view(*args, **kwargs)

    return wrapped
