"""One log line per request: method, path, status, duration and request id.

The id comes from the router's ``X-Request-ID`` when it sends a sane one, so the
app's line can be matched with the router's; otherwise one is made up. Either way
it goes back in the response's ``X-Request-ID`` and is ``g.request_id`` meanwhile.
"""

import json
import logging
import re
import time
import uuid

from flask import Flask, Response, g, request

HEADER = "X-Request-ID"
# Letters, digits and a few separators only: the id is written to logs as it came.
_VALID_ID = re.compile(r"[A-Za-z0-9._+/=-]{1,200}")
_BARE = re.compile(r"[^\s\"=\\]+")
# How werkzeug's dev server formats its line per request (WSGIRequestHandler.log_request).
WERKZEUG_REQUEST_LINE = '] "%s" %s %s'

log = logging.getLogger("catalog.requests")


def request_id() -> str:
    """Return the request id the client or router sent, or a new one."""
    given: str = request.environ.get("HTTP_X_REQUEST_ID", "")
    if _VALID_ID.fullmatch(given):
        return given
    return uuid.uuid4().hex


def logfmt_value(value: str) -> str:
    """Return ``value`` bare when it is safe to, quoted and escaped otherwise."""
    return value if _BARE.fullmatch(value) else json.dumps(value)


def start_request() -> None:
    g.request_id = request_id()
    g.request_started = time.perf_counter()


def log_request(response: Response) -> Response:
    # A before_request registered ahead of this one may have answered already.
    if "request_id" not in g:
        start_request()
    response.headers[HEADER] = g.request_id
    if log.isEnabledFor(logging.INFO):
        duration = (time.perf_counter() - g.request_started) * 1000
        # The path only: query strings can carry tokens and sign-in codes. The line is
        # made whole here, in one f-string: a message without arguments is not formatted
        # again by logging.
        log.info(
            f"method={request.method} path={logfmt_value(request.path)}"
            f" status={response.status_code} duration={duration:.1f}ms"
            f" request_id={g.request_id}"
        )
    return response


class DevServerRequestLines(logging.Filter):
    """Drop the dev server's own line per request: the line above says it, with more.

    Werkzeug's server (``flask run``) logs each request as ``"GET / HTTP/1.1" 200 -``
    to the ``werkzeug`` logger; its other lines (where it serves, errors) stay.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not (isinstance(record.msg, str) and record.msg.endswith(WERKZEUG_REQUEST_LINE))


def init_app(app: Flask) -> None:
    # Flask attaches its stderr handler to the app's logger on first use; ours is a child.
    app.logger  # noqa: B018
    if log.level == logging.NOTSET:
        log.setLevel(logging.INFO)
    werkzeug = logging.getLogger("werkzeug")
    if not any(isinstance(f, DevServerRequestLines) for f in werkzeug.filters):
        werkzeug.addFilter(DevServerRequestLines())
    app.before_request(start_request)
    app.after_request(log_request)
