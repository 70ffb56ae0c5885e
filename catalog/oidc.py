"""The OpenID Connect client, and the users its ID tokens vouch for.

One Authlib client per app, registered against ``OIDC_ISSUER``'s discovery
document; it fetches nothing until someone signs in. The sign-in views that use
it live in ``catalog.auth``.
"""

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from authlib.integrations.flask_client import OAuth, OAuthError
from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from catalog.extensions import db
from catalog.models import User

CLIENT = "catalog.oidc_client"
SCOPES = "openid email profile"
# Seconds to wait for the identity provider: a hung provider must not hold a worker.
PROVIDER_TIMEOUT = 10
# Longest issuer or subject kept; OpenID Connect caps the subject at 255 characters.
ID_MAX = 255


def init_app(app: Flask) -> None:
    """Register the OpenID Connect client when one is configured; nothing is fetched yet."""
    if not app.config.get("OIDC_CLIENT_ID"):
        return
    # Authlib's registry remembers one app and caches its clients, so each app gets
    # its own registry: tests build many apps, each against its own provider.
    registry = OAuth(app)
    issuer = app.config["OIDC_ISSUER"].rstrip("/")
    app.extensions[CLIENT] = registry.register(
        "oidc",
        client_id=app.config["OIDC_CLIENT_ID"],
        client_secret=app.config["OIDC_CLIENT_SECRET"],
        server_metadata_url=f"{issuer}/.well-known/openid-configuration",
        client_kwargs={
            "scope": SCOPES,
            "code_challenge_method": "S256",
            "default_timeout": PROVIDER_TIMEOUT,
        },
    )


def client() -> Any:
    """Return the app's OpenID Connect client, or None when sign-in is not configured."""
    return current_app.extensions.get(CLIENT)


def provider_label() -> str:
    """Name the identity provider for buttons: Google, or the issuer's host."""
    host = urlsplit(current_app.config["OIDC_ISSUER"]).hostname or "your identity provider"
    return "Google" if host == "accounts.google.com" else host


def profile(claims: Mapping[str, Any]) -> dict[str, Any]:
    """Return the user columns to keep from ID token ``claims``.

    The e-mail is kept only when the provider says it is verified: admins are
    recognised by e-mail, and an unverified one could be anybody's.
    """
    email = claims.get("email") if claims.get("email_verified") in (True, "true") else None
    if not isinstance(email, str) or len(email) > 320:
        email = ""
    name = claims.get("name") or claims.get("preferred_username") or email or "Anonymous"
    picture = claims.get("picture")
    if not (isinstance(picture, str) and picture.startswith("https://") and len(picture) <= 2000):
        picture = None
    return {"email": email, "name": str(name)[:200], "picture": picture}


def upsert_user(issuer: str, subject: str, claims: Mapping[str, Any]) -> User:
    """Return the user known by ``issuer`` and ``subject``, created or updated from ``claims``.

    A changed e-mail or name updates the row; it never makes a second user.
    """
    query = select(User).where(User.issuer == issuer, User.subject == subject)
    fields = profile(claims)
    user = db.session.scalar(query)
    if user is None:
        user = User(issuer=issuer, subject=subject, **fields)
        try:
            with db.session.begin_nested():
                db.session.add(user)
        except IntegrityError:  # the same person finished signing in twice at once
            # Only the savepoint is rolled back; the other sign-in's row is there now.
            user = db.session.scalars(query).one()
    for name, value in fields.items():
        setattr(user, name, value)
    db.session.flush()
    return user


def failure_message(exc: OAuthError, provider: str) -> str:
    """Say in plain words why the provider's part of sign-in failed."""
    if exc.error == "mismatching_state":
        return (
            "This sign-in did not start here or has expired (its state did not match), "
            "so it was stopped."
        )
    if exc.error == "access_denied":
        return f"Sign-in was cancelled at {provider}."
    if exc.error in ("invalid_grant", "invalid_request"):
        return f"{provider} refused the sign-in code; it may have expired or been used already."
    return f"{provider} reported a problem ({exc.error}), so you were not signed in."
