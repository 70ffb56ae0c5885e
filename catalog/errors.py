"""Error pages that share the layout and never show a stack trace."""

from flask import render_template
from werkzeug.exceptions import HTTPException, InternalServerError

TITLES = {
    400: "Bad request",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Too large",
    429: "Too many requests",
    500: "Something went wrong",
    503: "Temporarily unavailable",
}


def render_error(error: HTTPException):
    """Render ``error`` as a page with its status code."""
    code = error.code or 500
    title = TITLES.get(code, error.name)
    # Keep what the status promises (Allow, Retry-After, WWW-Authenticate), not the body type.
    headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
    return render_template("errors/error.html", code=code, title=title, error=error), code, headers


def render_internal_error(error: InternalServerError):
    """Render the 500 page; the exception is logged by Flask, never shown."""
    return render_template(
        "errors/error.html", code=500, title=TITLES[500], error=InternalServerError()
    ), 500


def init_app(app):
    app.register_error_handler(HTTPException, render_error)
    app.register_error_handler(InternalServerError, render_internal_error)
