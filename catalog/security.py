"""Production hardening: trust the router's forwarded headers, force HTTPS, send security headers.

The headers, the Content Security Policy among them, go out in every mode so that
development shows what production will block; the redirect to HTTPS and HSTS follow
``FORCE_HTTPS``, which is on outside debug and testing.
"""

from flask_talisman import Talisman
from werkzeug.middleware.proxy_fix import ProxyFix

# Scripts, styles and fonts only from this site and never inline; pictures may come from
# the identity provider (profile photos). No plugins, no framing, no <base> rewriting.
CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "img-src": "'self' https:",
    "object-src": "'none'",
    "base-uri": "'none'",
    "frame-ancestors": "'none'",
}

HSTS_MAX_AGE = 365 * 24 * 3600


def init_app(app):
    proxies = app.config["TRUSTED_PROXIES"]
    if proxies:
        # The router sets X-Forwarded-For/-Proto/-Port and keeps Host as the client sent it.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_port=proxies)

    force_https = app.config["FORCE_HTTPS"]
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
