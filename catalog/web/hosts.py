"""Host names: a request for a host outside ``ALLOWED_HOSTS`` gets 400 before anything else.

``ALLOWED_HOSTS`` becomes Flask's ``TRUSTED_HOSTS`` (catalog.config), and werkzeug's
``host_is_trusted`` matches the ``Host`` header against it, ports aside. Flask finds
a refused host while it sets the request up but raises the error only when the view
would run, after the ``before_request`` hooks: by then Talisman would have redirected
to ``https://<that host>``. ``refuse_other_hosts`` therefore runs first of all
(catalog.web installs it so), and every request for another host, redirects
included, gets a plain 400 (problem+json under /api/): the layout's links cannot be
built for a host that was refused.

Without ``ALLOWED_HOSTS`` every host is served: in development, and in a deployment,
which ``flask doctor`` reports. No absolute URL is then carried from one request to
another: each answer names the host its own request was sent to (the router keeps
``Host`` as the client sent it, and ``X-Forwarded-Host`` is not trusted), so a forged
``Host`` misleads only whoever forged it, and the one answer that is kept, for
``Idempotency-Key`` retries, keeps paths and is rebuilt on the host of the retry. A
configured canonical origin would add nothing to that and would take a site reached by
several names (``<app>.herokuapp.com`` and its own domain) to one of them.
"""

from flask import Flask, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import BadRequest, SecurityError

from catalog.web.errors import render_problem, wants_problem

REFUSED_HOST = "This site does not answer to the host name this request was sent to."


def refuse_other_hosts() -> None:
    """Raise Flask's error for a host outside ``ALLOWED_HOSTS`` before any other hook runs."""
    if isinstance(request.routing_exception, SecurityError):
        raise request.routing_exception


def render_refused_host(error: SecurityError) -> ResponseReturnValue:
    """Answer a refused host with 400, on a page that builds no URL."""
    if wants_problem():
        return render_problem(BadRequest(description=REFUSED_HOST))
    return render_template("errors/refused_host.html", message=REFUSED_HOST), 400


def init_app(app: Flask) -> None:
    """Register the host check; install it before every other ``before_request`` hook."""
    app.before_request(refuse_other_hosts)
    app.register_error_handler(SecurityError, render_refused_host)
