"""Signed cookie sessions that cost nothing to a request that sends no cookie.

Flask's ``SecureCookieSessionInterface`` builds an itsdangerous serializer on every
request, cookie or not (and building one serializes a test value to learn its type),
and gathers every cookie setting before it finds that an empty, unchanged session has
nothing to save. Most requests (visitors who never signed in, API clients, a CDN)
send no cookie. So here the serializer is built once per set of keys, a request
without a ``Cookie`` header gets its empty session without parsing any, and an empty
session that was not changed is saved by doing nothing, after ``Vary: Cookie`` where
it was read, exactly as Flask would.
"""

from flask import Flask, Request, Response
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from itsdangerous import URLSafeTimedSerializer


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed cookie sessions, doing no work that a cookie-less request would waste."""

    def __init__(self) -> None:
        self._keys: tuple[object, ...] | None = None
        self._serializer: URLSafeTimedSerializer | None = None

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        # Keyed on the keys themselves, so that a rotated SECRET_KEY takes effect at once.
        keys = (app.secret_key, *(app.config["SECRET_KEY_FALLBACKS"] or ()))
        if keys != self._keys:
            self._serializer = super().get_signing_serializer(app)
            self._keys = keys
        return self._serializer

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if "HTTP_COOKIE" not in request.environ and app.secret_key:
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if not session and not session.modified:
            if session.accessed:
                response.vary.add("Cookie")
            return
        super().save_session(app, session, response)


def init_app(app: Flask) -> None:
    app.session_interface = CookieSessions()
