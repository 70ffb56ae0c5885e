"""Conditional requests: ETags on reads, ``If-None-Match`` (304) and ``If-Match`` (412).

An item's ETag is made of its id and version, which is what ``If-Match`` checks.
Read, an item also shows its category's and its owner's names, which change without
its version: so a read's ETag adds, after a dot, the digest of the catalog's change
marker and the URL (catalog.web.caching), and a tag sent back with the same digest is
answered 304 without reading the item. ``If-Match`` reads only the part before the
dot. A list's ETag is that digest alone, known before the list is read: a 304 costs
one query. The headers are read by werkzeug (``request.if_match``,
``request.if_none_match``).
"""

from collections.abc import Mapping
from typing import cast

from flask import Response, abort, current_app, request
from werkzeug.datastructures import ETags
from werkzeug.http import quote_etag, unquote_etag

from catalog.web.caching import PUBLIC

# The longest If-Match or If-None-Match taken: room for dozens of ETags, and well inside
# the 8,190 bytes gunicorn allows a header line.
ETAGS_MAX = 1024


def item_etag(item_id: int, version: int) -> str:
    """Return the strong ETag of item ``item_id`` at ``version``."""
    return quote_etag(f"item-{item_id}-v{version}")


def read_etag(item_id: int, version: int, digest: str) -> str:
    """Return the strong ETag of a read of item ``item_id`` at ``version``, the catalog's
    state being ``digest`` (catalog.web.caching.page_digest)."""
    return quote_etag(f"item-{item_id}-v{version}.{digest}")


def unchanged_read(item_id: int, digest: str) -> Response | None:
    """Return a 304 response when ``If-None-Match`` has a read ETag of item ``item_id``
    made while the catalog was as ``digest`` says it is now: the item cannot have changed."""
    prefix, suffix = f"item-{item_id}-v", f".{digest}"
    for tag in request.if_none_match.as_set(include_weak=True):
        if tag.startswith(prefix) and tag.endswith(suffix):
            return not_modified(quote_etag(tag))
    return None


def json_response(
    document: object, etag: str | None = None, headers: Mapping[str, str] | None = None
) -> Response:
    """Return ``document`` as a JSON response, with ``etag`` if given (``@validated``
    views get theirs from it).

    The views build their documents in the documented shape already, so they hand over
    a response and the schema's dump, the slowest part of answering a list, is skipped.
    """
    # The app's response class, which Flask's annotations call a sans-IO response.
    response = cast(Response, current_app.json.response(document))
    if etag is not None:
        response.headers["ETag"] = etag
        response.headers["Cache-Control"] = PUBLIC
    if headers:
        response.headers.update(headers)
    return response


def not_modified(etag: str) -> Response | None:
    """Return a 304 response when the request's ``If-None-Match`` has ``etag``.

    The comparison is weak, as RFC 9110 requires for ``If-None-Match``: ``W/"x"`` matches.
    """
    if not request.if_none_match.contains_weak(unquote_etag(etag)[0]):
        return None
    response = current_app.response_class(status=304)
    response.headers["ETag"] = etag
    response.headers["Cache-Control"] = PUBLIC
    return response


def if_match() -> ETags | None:
    """Return the request's ``If-Match`` tags, or None without the header.

    A header that is there but blank asks for nothing that could hold or fail, so it
    is a 400 rather than a 412 for every item.
    """
    value = request.headers.get("If-Match")
    if value is None:
        return None
    if not value.strip(" \t"):
        abort(
            400,
            description="If-Match is blank: send the ETag you read (or *), or leave "
            "the header out to change the item as it is now.",
        )
    return request.if_match


def check_if_match(etag: str, tags: ETags | None) -> None:
    """Abort with 412 unless ``tags`` (from ``if_match``) are None, ``*``, or list ``etag``.

    The comparison is strong, as RFC 9110 requires for ``If-Match``: a weak tag never matches.
    A read's ETag matches by its item and version, the part before its dot (``read_etag``).
    """
    version = unquote_etag(etag)[0]
    if (
        tags is not None
        and not tags.star_tag
        and not any(
            tag == version or tag.startswith(f"{version}.")
            for tag in tags.as_set(include_weak=False)
        )
    ):
        abort(
            412,
            description="The item changed since you read it (its ETag is now "
            f"{etag}); read it again and reapply your change.",
        )
