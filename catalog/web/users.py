"""The signed-in user of each request, in ``g.user`` (None when signed out).

The signed session cookie names a ``UserSession`` row (catalog.identity) and the
user is loaded through it, so a cookie whose session was ended, here or on another
device, names nobody and is forgotten. Sign-in and sign-out are catalog.auth's.
"""

from flask import Flask, g, request, session
from sqlalchemy import select

from catalog.extensions import db
from catalog.identity import SESSION_ID, SESSION_USER
from catalog.models import User, UserSession

# Endpoints that never read the session: static files and pictures are the same for
# everyone, and reading the session would make their answers vary by cookie, which
# would keep browsers and a CDN from caching them as one.
SESSIONLESS = frozenset({"static", "images.serve"})


def load_user() -> None:
    """Put the signed-in user in ``g.user`` (or None); forget sessions that were ended."""
    g.user = None
    # Checked before the session is read, which would make the answer vary by cookie.
    if request.endpoint in SESSIONLESS:
        return
    session_id = session.get(SESSION_ID)
    if session_id is None:
        return
    user = db.session.scalar(
        select(User)
        .join(User.sessions)
        .where(UserSession.id == session_id, UserSession.user_id == session.get(SESSION_USER))
    )
    if user is None:  # signed out here or elsewhere, or the user is gone
        session.clear()
        return
    g.user = user


def init_app(app: Flask) -> None:
    app.before_request(load_user)
