"""Validators for what anonymous visitors read: an ETag known before the view runs, and 304.

A page's ETag is a digest of the catalog's change marker (``CatalogState``, moved by
every commit that changes what a page shows: catalog.models), the request's URL, and
the code and settings that render it. Reading the marker is one query on one row, so
``If-None-Match`` with the current ETag is answered 304 without running the view.

``Cache-Control: public, no-cache``: browsers and a CDN may keep the page but must ask
each time, so that nobody reads a page from before a change; asking costs a 304 and
one query. A short ``max-age`` would spare even that, but a visitor who just changed an
item, or reads one just changed, would be shown the old page for that long.

A request with the session cookie is someone's own: their name, their flashes, what
they may change. Its page is ``private, no-cache`` and has no ETag, and every page says
``Vary: Cookie`` so that a shared cache never hands one visitor's page to another.
"""

import hashlib
from collections.abc import Callable
from functools import cache, wraps
from pathlib import Path
from typing import Any, TypeVar, cast

from flask import Response, abort, current_app, make_response, request
from sqlalchemy import select
from werkzeug.http import quote_etag, unquote_etag

from catalog.extensions import db
from catalog.models import MARKER_ID, CatalogState

V = TypeVar("V", bound=Callable[..., Any])

# Built once: a statement made anew for each request costs more than running it.
MARKER = select(CatalogState.marker).where(CatalogState.id == MARKER_ID)
# Settings that change what a page shows for the same data and URL.
PAGE_SETTINGS = ("ITEMS_PER_PAGE", "LATEST_ITEMS", "DEV_LOGIN", "DEBUG", "TESTING")
PUBLIC = "public, no-cache"
PRIVATE = "private, no-cache"
_ETAG = "catalog.page_etag"
_PACKAGE = Path(__file__).resolve().parent.parent


@cache
def code_version() -> str:
    """Return a digest of the package's files: templates, code, static files.

    Every process of a release computes the same one, so their ETags agree, and a
    release that changes how a page looks changes every ETag.
    """
    digest = hashlib.sha256()
    for path in sorted(_PACKAGE.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(_PACKAGE).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def marker() -> str:
    """Return the catalog's change marker (one query); empty if its row is missing."""
    return db.session.scalar(MARKER) or ""


def page_digest() -> str:
    """Return a digest of what this request's answer is made from: the code, the settings,
    the catalog's change marker (read here, before anything the answer shows) and the URL."""
    config = current_app.config
    settings = "|".join(str(config.get(name)) for name in PAGE_SETTINGS)
    key = f"{code_version()}|{settings}|{marker()}|{request.url}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def page_etag() -> str:
    """Return the weak ETag of the page this request asks for, as the catalog is now."""
    return quote_etag(page_digest(), weak=True)


def _private() -> bool:
    return current_app.config["SESSION_COOKIE_NAME"] in request.cookies


def revalidate(personal: bool = True) -> None:
    """Find this request's ETag; answer 304 (abort) if ``If-None-Match`` has it.

    ``@validated`` calls it before the view, or the view itself (``deferred``) once it
    has refused what it refuses without a query, and before its first one: the marker
    must be read before what the page shows, never after, or a page from before a
    change could carry the ETag of after it.
    """
    # Kept with the request, not in ``g``: an app context can outlive one request.
    if _ETAG in request.environ:
        return
    request.environ[_ETAG] = None
    if personal and _private():
        return
    etag = page_etag()
    if request.if_none_match.contains_weak(unquote_etag(etag)[0]):
        response = current_app.response_class(status=304)
        abort(_headers(response, etag, PUBLIC, personal))
    request.environ[_ETAG] = etag


def _headers(response: Response, etag: str | None, policy: str, personal: bool) -> Response:
    if etag is not None:
        response.headers["ETag"] = etag
    response.headers["Cache-Control"] = policy
    if personal:
        response.vary.add("Cookie")
    return response


def validated(personal: bool = True, deferred: bool = False) -> Callable[[V], V]:
    """Give ``view``'s answers an ETag and ``Cache-Control``; answer 304 before it runs.

    ``personal`` views (the HTML pages) show who is signed in: with the session cookie
    they are private and not validated. The others (feeds, API reads) are the same for
    everyone, cookie or not. A ``deferred`` view calls ``revalidate`` itself; one that
    never does (a search for nothing, which reads nothing) goes out without an ETag.
    """

    def decorate(view: V) -> V:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Response:
            if not deferred:
                revalidate(personal)
            response = make_response(view(*args, **kwargs))
            if personal and _private():
                return _headers(response, None, PRIVATE, personal)
            if response.status_code != 200:
                return response
            return _headers(response, request.environ.get(_ETAG), PUBLIC, personal)

        return cast(V, wrapper)

    return decorate
