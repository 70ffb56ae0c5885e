"""Production hardening: trust the router's forwarded headers, force HTTPS, send security headers.

The headers, the Content Security Policy among them, go out in every mode so that
development shows what production will block; the redirect to HTTPS and HSTS follow
``FORCE_HTTPS``, which is on outside debug and testing. Which host names the site
answers to is catalog.web.hosts's.
"""

from flask import Flask, Response, abort, current_app, request
from flask_talisman import Talisman
from werkzeug.middleware.proxy_fix import ProxyFix

from catalog.web import hooks
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


def is_https() -> bool:
    """Tell whether the request came over HTTPS, by Talisman's own test."""
    return request.is_secure or request.environ.get("HTTP_X_FORWARDED_PROTO") == "https"


class SecurityHeaders:
    """Talisman's response headers, computed once instead of on every response.

    They depend on Talisman's settings and on one fact of the request, whether it came
    over HTTPS (HSTS is sent only then), so each of the two lists is Talisman's own
    answer, taken once, at start. Talisman would redo them per view had a view
    options of its own (``@talisman(...)``) or with a CSP nonce; no view has, and
    ``init_app`` keeps Talisman's per-response hook when a nonce is configured.
    """

    def __init__(self, app: Flask, talisman: Talisman) -> None:
        self.headers: dict[bool, list[tuple[str, str]]] = {}
        for secure in (False, True):
            scheme = "https" if secure else "http"
            with app.test_request_context(base_url=f"{scheme}://localhost/"):
                response = Response()
                response.headers.clear()
                talisman._set_response_headers(response)
                self.headers[secure] = list(response.headers.items())

    def __call__(self, response: Response) -> Response:
        # Set, not added: as Talisman does, these replace any a view set itself.
        headers = response.headers
        for name, value in self.headers[is_https()]:
            headers[name] = value
        return response


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
    talisman = app.extensions["talisman"] = Talisman(
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
    if not talisman.content_security_policy_nonce_in:
        # Its hooks would ask the same questions of every request and get the same answers.
        hooks.replace(
            app.after_request_funcs[None],
            lambda hook: hook == talisman._set_response_headers,
            SecurityHeaders(app, talisman),
        )
        app.before_request_funcs[None].remove(talisman._make_nonce)
    # A request already on HTTPS needs no redirect (the test Talisman itself makes first).
    hooks.guard_before(app, talisman._force_https, lambda: not is_https())
