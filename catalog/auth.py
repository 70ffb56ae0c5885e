"""Sign-in (through the identity provider, or dev sign-in), sign-out, and the account page.

The signed session cookie names a ``UserSession`` row; each request loads the user
through that row (catalog.web.users). Signing out deletes the row, so every copy of
that cookie stops working at once, while the user's other browsers stay signed in;
"sign out everywhere" deletes all of the user's rows.
"""

import functools
import logging
import secrets
from collections.abc import Callable
from typing import ParamSpec
from urllib.parse import urlsplit

import requests
from authlib.integrations.flask_client import OAuthError
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from joserfc.errors import JoseError
from sqlalchemy import delete

from catalog import demo, oidc
from catalog.changes import is_admin
from catalog.extensions import db
from catalog.forms import ButtonForm, DevLoginForm, TokenForm
from catalog.identity import SESSION_ID, SESSION_USER
from catalog.listings import owner_page
from catalog.models import User, UserSession, utcnow
from catalog.text import has_controls
from catalog.tokens import tokens_of
from catalog.web import limits

bp = Blueprint("auth", __name__)
limits.limit_writes(bp)
limits.limit_sign_in(bp, "start", "callback", "dev_login")
log = logging.getLogger(__name__)
P = ParamSpec("P")

SESSION_NEXT = "login_next"
NEXT_MAX = 2000


def safe_next(target: str | None) -> str | None:
    """Return ``target`` when it is a path on this site, else None.

    A browser reads ``//host``, ``/\\host``, ``https:...`` and paths with control
    characters (which it strips) as another site, so all of those are refused
    (control characters as catalog.text counts them).
    """
    if not target or len(target) > NEXT_MAX:
        return None
    if not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or has_controls(target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def login_url(next_target: str | None = None) -> str:
    """Return the sign-in page's URL, coming back to ``next_target`` when it is safe."""
    return url_for("auth.login", next=safe_next(next_target))


def login_required(view: Callable[P, ResponseReturnValue]) -> Callable[P, ResponseReturnValue]:
    """Send anonymous visitors to sign in, then back to the page they asked for."""

    @functools.wraps(view)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> ResponseReturnValue:
        if g.user is None:
            # After a POST, come back to the form (the same URL, read with GET).
            target = request.full_path if request.method == "GET" else request.path
            return redirect(login_url(target.rstrip("?")))
        return view(*args, **kwargs)

    return wrapped


def admin_required(view: Callable[P, ResponseReturnValue]) -> Callable[P, ResponseReturnValue]:
    """Let only admins through: others get 403, anonymous visitors are sent to sign in."""

    @functools.wraps(view)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> ResponseReturnValue:
        if g.user is not None and not is_admin(g.user):
            abort(403, description="Only admins can manage categories.")
        return view(*args, **kwargs)

    return login_required(wrapped)


def start_session(user: User) -> None:
    """Begin a fresh session for ``user``: nothing from before sign-in carries over.

    Rows of the user's sessions older than the cookie could live are dropped here,
    so the table holds about one row per browser in use.
    """
    session.clear()
    lifetime = current_app.permanent_session_lifetime
    db.session.execute(
        delete(UserSession).where(
            UserSession.user_id == user.id, UserSession.created < utcnow() - lifetime
        )
    )
    session_id = secrets.token_urlsafe(32)
    db.session.add(UserSession(id=session_id, user=user))
    session[SESSION_ID] = session_id
    session[SESSION_USER] = user.id


def end_session() -> None:
    """End this browser's session; a copy of its cookie stops working too."""
    session_id = session.get(SESSION_ID)
    if session_id is not None:
        db.session.execute(delete(UserSession).where(UserSession.id == session_id))
    session.clear()


def end_sessions(user: User) -> None:
    """End every session ``user`` has, on every device, this one included."""
    db.session.execute(delete(UserSession).where(UserSession.user_id == user.id))
    session.clear()


def finish_sign_in(user: User, next_target: str | None) -> ResponseReturnValue:
    """Start ``user``'s session, commit, and go where they were heading."""
    start_session(user)
    db.session.commit()
    flash(f"Signed in as {user.name}.", "success")
    return redirect(safe_next(next_target) or url_for("catalog.index"))


def sign_in_failed(
    message: str, status: int = 400, next_target: str | None = None
) -> ResponseReturnValue:
    """Answer a failed or cancelled sign-in with a page that offers to try again."""
    return render_template(
        "auth/failed.html", message=message, retry_url=login_url(next_target)
    ), status


@bp.get("/login")
def login() -> ResponseReturnValue:
    """Offer the ways to sign in: the identity provider, and demo users in development."""
    next_target = safe_next(request.args.get("next"))
    if g.user is not None:
        return redirect(next_target or url_for("catalog.index"))
    return render_template(
        "auth/login.html",
        next_target=next_target,
        provider=oidc.provider_label() if oidc.client() else None,
        # How to turn sign-in on is for whoever runs the server, not for visitors (admins,
        # signed in, are sent on from here, and read it on their account page instead).
        operator=current_app.debug,
        dev_form=DevLoginForm(next=next_target) if current_app.config["DEV_LOGIN"] else None,
        demo_users=demo.USERS,
    )


@bp.get("/login/oidc")
def start() -> ResponseReturnValue:
    """Send the browser to the identity provider with state, nonce and a PKCE challenge."""
    client = oidc.client()
    if client is None:
        abort(404, description="Sign-in through an identity provider is not configured here.")
    next_target = safe_next(request.args.get("next"))
    session.pop(SESSION_NEXT, None)
    if next_target:
        session[SESSION_NEXT] = next_target
    try:
        redirected: ResponseReturnValue = client.authorize_redirect(
            url_for("auth.callback", _external=True)
        )
        return redirected
    except requests.RequestException:
        log.warning("identity provider unreachable at sign-in", exc_info=True)
        return sign_in_failed(
            f"{oidc.provider_label()} could not be reached. Please try again in a moment.",
            502,
            next_target,
        )


@bp.get("/login/callback")
def callback() -> ResponseReturnValue:
    """Finish signing in: check state, exchange the code, verify the ID token, upsert."""
    client = oidc.client()
    if client is None:
        abort(404, description="Sign-in through an identity provider is not configured here.")
    next_target = session.get(SESSION_NEXT)
    provider = oidc.provider_label()
    try:
        token = client.authorize_access_token()
    except OAuthError as exc:
        log.info("sign-in refused: %s", exc.error)
        return sign_in_failed(oidc.failure_message(exc, provider), 400, next_target)
    except JoseError as exc:
        log.warning("ID token rejected: %s", exc)
        return sign_in_failed(
            f"The answer from {provider} did not check out, so you were not signed in.",
            400,
            next_target,
        )
    except requests.RequestException:
        log.warning("identity provider unreachable at callback", exc_info=True)
        return sign_in_failed(
            f"{provider} could not be reached to finish signing in. Please try again.",
            502,
            next_target,
        )
    except (ValueError, RuntimeError):  # malformed answers: not JSON, missing endpoints
        log.warning("identity provider answered nonsense", exc_info=True)
        return sign_in_failed(
            f"{provider} gave an answer that could not be understood.", 502, next_target
        )

    claims = token.get("userinfo") or {}
    issuer, subject = claims.get("iss"), claims.get("sub")
    if not issuer or not subject or len(issuer) > oidc.ID_MAX or len(subject) > oidc.ID_MAX:
        return sign_in_failed(f"{provider} did not say who you are.", 400, next_target)
    return finish_sign_in(oidc.upsert_user(issuer, subject, claims), next_target)


@bp.route("/login/dev", methods=["GET", "POST"])
def dev_login() -> ResponseReturnValue:
    """Sign in as a demo user without a password; this URL exists only in debug and testing."""
    if not current_app.config["DEV_LOGIN"]:
        abort(404)
    form = DevLoginForm()
    if not form.validate_on_submit():
        if request.method == "POST":
            abort(400, description="Pick one of the demo users.")
        return redirect(login_url(request.args.get("next")))
    person = next(u for u in demo.USERS if u["subject"] == form.subject.data)
    user = oidc.upsert_user(demo.DEMO_ISSUER, person["subject"], {**person, "email_verified": True})
    return finish_sign_in(user, form.next.data)


@bp.get("/logout")
def confirm_logout() -> ResponseReturnValue:
    """Offer the sign-out button to whoever opens /logout (a bookmark, a typed URL).

    Signing out changes data, so it stays a POST with a CSRF token; a link cannot do it.
    """
    if g.user is None:
        return redirect(url_for("catalog.index"))
    return render_template("auth/logout.html", form=ButtonForm())


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """Sign out of this browser; a copy of this session's cookie no longer works either."""
    end_session()
    db.session.commit()
    flash("You have signed out.", "success")
    return redirect(url_for("catalog.index"))


@bp.get("/account")
@login_required
def account() -> ResponseReturnValue:
    """Show who is signed in, their items and API tokens, and the button that ends every
    session. The items are the first page of the user's own; the next go on at their page."""
    return render_template(
        "auth/account.html",
        **owner_page(g.user.id, None, None),
        user=g.user,
        admin=is_admin(g.user),
        sign_in_configured=oidc.client() is not None,
        demo_issuer=demo.DEMO_ISSUER,
        form=ButtonForm(),
        tokens=tokens_of(g.user),
        token_form=TokenForm(),
    )


@bp.post("/account/sign-out-everywhere")
@login_required
def sign_out_everywhere() -> ResponseReturnValue:
    """End all of the user's sessions, on every device and browser."""
    end_sessions(g.user)
    db.session.commit()
    flash("You have been signed out everywhere, on every device.", "success")
    return redirect(url_for("catalog.index"))
