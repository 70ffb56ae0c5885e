"""Conditional requests: ETags on reads, ``If-None-Match`` (304) and ``If-Match`` (412).

An item's ETag is made of its id and version, so checking one costs nothing
beyond loading the item; a list's ETag is a digest of its body.
"""

import hashlib

from flask import Response, abort, current_app


def item_etag(item_id: int, version: int) -> str:
    """Return the strong ETag of item ``item_id`` at ``version``."""
    return f'"item-{item_id}-v{version}"'


def body_etag(body: bytes) -> str:
    """Return a strong ETag for a response ``body``: a digest of its bytes."""
    return f'"{hashlib.sha256(body).hexdigest()[:32]}"'


def json_response(document, etag: str | None = None, headers=None) -> Response:
    """Return ``document`` as a JSON response with a strong ETag (of its body, by default).

    The views build their documents in the documented shape already, so they hand over
    a response and the schema's dump, the slowest part of answering a list, is skipped.
    """
    response = current_app.json.response(document)
    response.headers["ETag"] = etag or body_etag(response.get_data())
    if headers:
        response.headers.update(headers)
    return response


def _listed(header: str) -> set[str]:
    """Return the entity tags in an ``If-Match``/``If-None-Match`` value, weak ones as strong."""
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}


def not_modified(etag: str, header: str | None) -> Response | None:
    """Return a 304 response when ``If-None-Match`` (``header``) already has ``etag``."""
    if header is None:
        return None
    tags = _listed(header)
    if "*" in tags or etag in tags:
        response = current_app.response_class(status=304)
        response.headers["ETag"] = etag
        return response
    return None


def check_if_match(etag: str, header: str | None) -> None:
    """Abort with 412 unless ``If-Match`` (``header``) is absent, ``*``, or lists ``etag``.

    The comparison is strong, as RFC 9110 requires for ``If-Match``: a weak tag never matches.
    """
    if header is None:
        return
    tags = {tag.strip() for tag in header.split(",") if tag.strip()}
    if "*" not in tags and etag not in tags:
        abort(
            412,
            description="The item changed since you read it (its ETag is now "
            f"{etag}); read it again and reapply your change.",
        )
