"""Uploads of pictures: a larger body limit on exactly the routes that take one, and reading them.

``MAX_CONTENT_LENGTH`` (64 KiB) bounds every request and the API takes 16 KiB of
JSON; a picture may be ``IMAGE_MAX_BYTES`` (5 MB). So the add and edit forms and the
API's ``PUT /api/v1/items/<id>/image`` get their own limit, set on the request before
anything reads its body (catalog.web installs the hook ahead of the CSRF check, which
reads a form in a hook of its own). On the forms, the picture's file part streams to
a temporary file; the text fields stay within ``MAX_CONTENT_LENGTH``
(``max_form_memory_size``), and a form has a handful of parts (``max_form_parts``).

A body whose ``Content-Length`` is over the limit is refused by werkzeug (413) when
something first asks for it, before a byte of it is read; one sent without a length
(chunked) as soon as reading it passes the limit. Either way the form comes back with
the picture refused (catalog.manage), or the API answers a problem.
"""

from typing import BinaryIO

from flask import Flask, current_app, request

from catalog.images.processing import megabytes

FORM_ENDPOINTS = frozenset({"manage.add_item", "manage.edit_item"})
API_ENDPOINT = "api.item_image"
# The item form's parts: the CSRF token, the version and the fields, with room to spare.
FORM_PARTS = 20
# What a picture may be sent as: the type decides nothing (the content does), but a
# client sending something else is told what the operation takes.
MEDIA_TYPES = ("image/jpeg", "image/png", "image/webp", "image/gif")


def max_bytes() -> int:
    """Return the largest picture accepted, in bytes (``IMAGE_MAX_BYTES``)."""
    return int(current_app.config["IMAGE_MAX_BYTES"])


def max_pixels() -> int:
    """Return the most pixels a picture may have (``IMAGE_MAX_PIXELS``)."""
    return int(current_app.config["IMAGE_MAX_PIXELS"])


def form_limit() -> int:
    """Return the largest body the item forms take: a picture and the rest of the form."""
    return max_bytes() + int(current_app.config["MAX_CONTENT_LENGTH"])


def too_large(size: int | None = None) -> str:
    """Say that an upload is over the limit, and by how much when ``size`` is known."""
    sent = f"This upload is {megabytes(size)}; " if size else "This upload is too large; "
    return f"{sent}the largest picture accepted is {megabytes(max_bytes())}. Nothing was saved."


def allow_uploads() -> None:
    """Raise the body limit of the routes that take a picture, and only theirs."""
    if request.method not in ("POST", "PUT"):
        return
    if request.endpoint in FORM_ENDPOINTS:
        # Only a multipart form can carry a file; werkzeug reads other forms whole.
        if request.mimetype != "multipart/form-data":
            return
        request.max_content_length = form_limit()
        request.max_form_memory_size = int(current_app.config["MAX_CONTENT_LENGTH"])
        request.max_form_parts = FORM_PARTS
    elif request.endpoint == API_ENDPOINT:
        request.max_content_length = max_bytes()


def read(stream: BinaryIO) -> bytes:
    """Return an uploaded file's bytes, reading at most one byte past ``IMAGE_MAX_BYTES``.

    A file that long is refused by its size (catalog.images.processing) without more
    of it being read.
    """
    return stream.read(max_bytes() + 1)


def init_app(app: Flask) -> None:
    """Raise the body limit of the routes that take a picture; before anything reads a body."""
    app.before_request(allow_uploads)
