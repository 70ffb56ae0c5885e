"""Production hardening: trust the router's forwarded headers, force HTTPS, send security headers.

The headers, the Content Security Policy among them, go out in every mode so that
development shows what production will block; the redirect to HTTPS and HSTS follow
``FORCE_HTTPS``, which is on outside debug and testing. Which host names the site
answers to is catalog.web.hosts's.
"""

from flask import Flask, abort, current_app, request
from flask_talisman import Talisman
from werkzeug.middleware.proxy_fix import ProxyFix

from catalog.web.bodies import WRITES
from catalog.web.errors import API_PREFIX

# Scripts, styles, fonts and pictures only from this site, and never inline: item pictures
# are served from the database, and the account page shows initials rather than the
# identity provider's profile photo. No plugins, no framing, no <base> rewriting.
CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "img-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "frame-ancestors": "'none'",
}

HSTS_MAX_AGE = 365 * 24 * 3600


def refuse_plain_http_api_writes() -> None:
    """Answer an API write over plain HTTP with 400: redirecting it would come too late.

    By the time a redirect could answer, the request has crossed the network in clear,
    bearer token and all, and a client that follows it sends both again. So the client
    is told to use HTTPS, and to treat the token as exposed. Pages and API reads are
    redirected as before (Talisman's ``force_https``), on the same test it makes.
    """
    if request.method not in WRITES or not request.path.startswith(API_PREFIX):
        return
    if (
        current_app.debug
        or request.is_secure
        or request.headers.get("X-Forwarded-Proto", "http") == "https"
    ):
        return
    secure_url = request.url.replace("http://", "https://", 1)
    detail = f"This API takes changes over HTTPS only: send this request to {secure_url}."
    if "Authorization" in request.headers:
        account = request.host_url.replace("http://", "https://", 1) + "account"
        detail += (
            " Its token travelled unencrypted and may have been seen: revoke it at "
            f"{account} and use a new one."
        )
    abort(400, description=detail)


def init_app(app: Flask) -> None:
    proxies = app.config["TRUSTED_PROXIES"]
    if proxies:
        # The router sets X-Forwarded-For/-Proto/-Port and keeps Host as the client sent it.
        # Flask's own way to add a WSGI middleware, which its annotations do not foresee.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_port=proxies
        )

    force_https = app.config["FORCE_HTTPS"]
    if force_https:
        # Registered before Talisman's redirect, so it answers these requests first.
        app.before_request(refuse_plain_http_api_writes)
    # Talisman keeps its app on the instance, so each app gets its own.
    app.extensions["talisman"] = Talisman(
        app,
        force_https=force_https,
        force_https_permanent=True,
        strict_transport_security=force_https,
        strict_transport_security_max_age=HSTS_MAX_AGE,
        # The app cannot speak for other hosts under its domain.
        strict_transport_security_include_subdomains=False,
        content_security_policy=CONTENT_SECURITY_POLICY,
        frame_options="DENY",
        referrer_policy="strict-origin-when-cross-origin",
        session_cookie_secure=app.config["SESSION_COOKIE_SECURE"],
        session_cookie_http_only=app.config["SESSION_COOKIE_HTTPONLY"],
        session_cookie_samesite=app.config["SESSION_COOKIE_SAMESITE"],
    )
