"""Which request bodies the pages take: their forms come as web forms, never as JSON.

Flask-WTF would read a JSON body into a form, and a JSON value that is not a flat
object of strings (a number, a list, nested objects) breaks the form's fields and
validators. Browsers post forms as ``application/x-www-form-urlencoded`` or
``multipart/form-data``; programs have the JSON API under /api/. So a JSON body
sent to a page is refused with 415 before any form reads it. (Its size is bounded
for every request by ``MAX_CONTENT_LENGTH``, in catalog/config.py.)
"""

from flask import Flask, abort, request

from catalog.web.errors import API_PREFIX

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def pages_take_web_forms() -> None:
    """Refuse a JSON body sent to a page with 415, pointing to the API."""
    if request.method in WRITES and request.is_json and not request.path.startswith(API_PREFIX):
        abort(
            415,
            description="Pages take web forms (application/x-www-form-urlencoded or "
            "multipart/form-data); programs can use the JSON API under /api/v1.",
        )


def init_app(app: Flask) -> None:
    app.before_request(pages_take_web_forms)
