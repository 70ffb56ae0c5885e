"""Web plumbing: what every request goes through before and after its view, in order.

``init_app`` installs it all, and this is the one place that says in which order
and why; each module says what its own hooks do. Flask runs ``before_request``
hooks in the order they were installed, and ``after_request`` and teardown hooks in
the reverse order. Flask-SQLAlchemy's teardown is installed before all of these, by
``catalog.extensions.init_app``.

Before the view:

1. ``hosts``: a request for a host outside ``ALLOWED_HOSTS`` gets 400 before
   anything else, so that nothing (a redirect, a sign-in, a query) happens for it.
2. ``request_log``: the request id and start time, so that every later answer,
   early refusals included, is logged with them.
3. ``security``: a plain-HTTP API write gets 400 (with ``FORCE_HTTPS``), before
   Talisman's redirect to HTTPS, which would come after the token crossed in clear;
   then Talisman redirects plain HTTP to HTTPS and makes the CSP nonce.
4. ``bodies``: a JSON body sent to a page gets 415, before the CSRF check would
   read it as a form and refuse it for a missing token; then ``uploads`` raises the
   body limit of the routes that take a picture, before anything reads their body.
5. Flask-WTF's CSRF check on every page write (the API exempts itself); reads skip
   it at once (``hooks``).
6. ``connections``: a ``@read_only`` view's connection is put in autocommit before
   anything queries: the limits and the user loader below may.
7. ``limits``: a write over its budget gets 429 before any work for it; the key may
   look up the API token (catalog.identity).
8. ``users``: the signed-in user goes in ``g.user``, last, so that no refused request
   pays for loading it.

Then the blueprint's own ``before_request`` (the API checks its bodies) and the view.

After the view, in this order: the limiter's ``X-RateLimit-*`` headers (``limits``);
``outages`` puts back the database's ``Retry-After`` over the limiter's window;
Talisman's security headers and cookie flags (``security``); ``request_log`` last,
to log the final status and send ``X-Request-ID``.

At teardown: ``outages`` ends the request's transaction first, tolerating a connection
lost after the answer was made, then Flask-SQLAlchemy removes the session.

The session itself (``sessions``) is Flask's signed cookie, opened as the request
context is pushed and saved after the ``after_request`` hooks;
a request that sends no cookie and a session left empty cost it nothing.

Error handlers are chosen by the exception's class, not by order: ``errors`` renders
every HTTP error (a page, or problem+json under /api/), ``outages`` turns a database
that cannot answer into 503, ``hosts`` answers a refused host. ``templating`` gives
every template the signed-in user and the rules about what they may change, and
``converters`` gives the blueprints' URL rules ``<int_id:...>``; both before any blueprint.
``static_files`` lets browsers keep the favicon (its own hook; the order does not matter).
"""

from flask import Flask

from catalog.extensions import csrf
from catalog.web import (
    bodies,
    connections,
    converters,
    errors,
    hooks,
    hosts,
    limits,
    outages,
    request_log,
    security,
    sessions,
    static_files,
    templating,
    uploads,
    users,
)


def init_app(app: Flask) -> None:
    """Install the web plumbing in the order this module's docstring explains."""
    sessions.init_app(app)
    hosts.init_app(app)
    request_log.init_app(app)
    security.init_app(app)
    bodies.init_app(app)
    uploads.init_app(app)
    csrf.init_app(app)
    hooks.guard_csrf(app)
    outages.init_app(app)
    connections.init_app(app)
    limits.init_app(app)
    users.init_app(app)
    templating.init_app(app)
    errors.init_app(app)
    converters.init_app(app)
    static_files.init_app(app)
