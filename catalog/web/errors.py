"""Error pages that share the layout and never show a stack trace; problem+json for the API."""

from collections.abc import Iterable, Iterator

from flask import Flask, Response, current_app, json, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException, InternalServerError, RequestEntityTooLarge

PROBLEM_JSON = "application/problem+json"
API_PREFIX = "/api/"

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


def _flatten(messages: object, location: str, path: str = "") -> Iterator[tuple[str, str, str]]:
    """Yield ``(location, field, message)`` from webargs' nested validation messages."""
    if isinstance(messages, dict):
        for key, value in messages.items():
            field = f"{path}.{key}" if path else str(key)
            yield from _flatten(value, location, field)
    elif isinstance(messages, list | tuple):
        for message in messages:
            yield from _flatten(message, location, path)
    else:
        yield location, path or "body", str(messages)


def validation_errors(error: HTTPException) -> list[dict[str, str]]:
    """Return the field errors a 422 (or a 400 for bad JSON) carries, one dict per message."""
    messages = (getattr(error, "data", None) or {}).get("messages") or {}
    return [
        {"location": location, "field": field, "message": message}
        for where, found in messages.items()
        for location, field, message in _flatten(found, where)
    ]


def render_problem(error: HTTPException, headers: Iterable[tuple[str, str]] = ()) -> Response:
    """Render ``error`` as RFC 9457 problem details, for programs."""
    code = error.code or 500
    problem = {"type": "about:blank", "title": error.name, "status": code}
    errors = validation_errors(error)
    if code == 500:  # an unexpected error's own text may say too much
        problem["detail"] = "Something went wrong on our side; it has been logged."
    elif errors:
        fields = " ".join(f"{e['field']}: {e['message']}" for e in errors)
        problem["detail"] = f"The request is not valid. {fields}"
        problem["errors"] = errors
    else:
        problem["detail"] = error.description or error.name
    return current_app.response_class(
        json.dumps(problem), status=code, headers=list(headers), mimetype=PROBLEM_JSON
    )


def wants_problem() -> bool:
    """Tell whether this request is the API's, so its errors are problem+json."""
    return request.path.startswith(API_PREFIX)


def render_error(error: HTTPException) -> ResponseReturnValue:
    """Render ``error`` as a page with its status code, or as a problem for the API."""
    code = error.code or 500
    title = TITLES.get(code, error.name)
    # Keep what the status promises (Allow, Retry-After, WWW-Authenticate), not the body type.
    headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
    if wants_problem():
        return render_problem(error, headers)
    return render_template("errors/error.html", code=code, title=title, error=error), code, headers


def render_internal_error(error: InternalServerError) -> ResponseReturnValue:
    """Render the 500 page; the exception is logged by Flask, never shown."""
    if wants_problem():
        return render_problem(InternalServerError())
    return render_template(
        "errors/error.html", code=500, title=TITLES[500], error=InternalServerError()
    ), 500


def render_too_large(error: RequestEntityTooLarge) -> ResponseReturnValue:
    """Render a 413 that says how large a request may be (``MAX_CONTENT_LENGTH``)."""
    if error.description == RequestEntityTooLarge.description:  # werkzeug's generic text
        limit = request.max_content_length or current_app.config["MAX_CONTENT_LENGTH"]
        error = RequestEntityTooLarge(
            description=f"This request is larger than the {limit // 1024} KiB this site "
            "accepts; nothing was saved. Shorten the text and try again."
        )
    return render_error(error)


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, render_error)
    app.register_error_handler(RequestEntityTooLarge, render_too_large)
    app.register_error_handler(InternalServerError, render_internal_error)
