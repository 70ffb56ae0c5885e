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

An anonymous page is kept as it was rendered, keyed by its ETag's digest, in Redis with
``REDIS_URL`` (shared by every process) or in the process: asked for again without a
validator, it is served for the same one query as a 304, about half the CPU of
rendering it (README, "What caching buys"); the API's item, which finds its own
validator, keeps its reads the same way (``kept_answer``). A change moves the marker,
so every page gets a new key and a page kept from before a change is never served
after it.
"""

import hashlib
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from functools import cache, wraps
from pathlib import Path
from typing import Any, TypeVar, cast

import redis
from flask import Response, current_app, make_response, request
from werkzeug.http import quote_etag

from catalog.extensions import db
from catalog.models import MARKER_ID, CatalogState
from catalog.web.limits import redis_options

V = TypeVar("V", bound=Callable[..., Any])

# The marker's one row, read by its key; the id is ours, a constant, not input.
MARKER_SQL = (
    f"SELECT {CatalogState.marker.key} FROM {CatalogState.__tablename__}"  # noqa: S608
    f" WHERE {CatalogState.id.key} = {int(MARKER_ID)}"
)
# Settings that change what a page shows for the same data and URL.
PAGE_SETTINGS = ("ITEMS_PER_PAGE", "LATEST_ITEMS", "DEV_LOGIN", "DEBUG", "TESTING")
PUBLIC = "public, no-cache"
PRIVATE = "private, no-cache"
_ETAG = "catalog.page_etag"
_KEY = "catalog.page_key"
_ANSWER = "catalog.page_answer"
PAGES_EXTENSION = "catalog.pages"
# Rendered pages kept: how many bytes of them per process without Redis (a few hundred
# pages), for how long in Redis (a page of an old marker is never asked for again, so
# this only bounds the memory it holds), and the largest kept (/catalog.json streams,
# and is never kept).
MEMORY_BYTES = 16 * 2**20
PAGE_SECONDS = 600
PAGE_MAX_BYTES = 256 * 1024
# What a kept answer keeps of its headers besides the body; the hooks add the rest, and
# ``@validated`` its own ETag and Cache-Control over the kept ones.
KEPT_HEADERS = ("Content-Type", "Link", "ETag", "Cache-Control")
REDIS_PREFIX = "catalog-page:"
# Seconds to connect to Redis and to wait for its answer about a page (the limits wait
# longer: they must count), and that pages go without Redis after a call to it failed.
REDIS_PAGE_CONNECT_TIMEOUT = 0.25
REDIS_PAGE_TIMEOUT = 0.1
REDIS_PAUSE = 30
log = logging.getLogger(__name__)
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
    """Return the catalog's change marker (one query); empty if its row is missing.

    Sent as plain SQL on the session's connection: every request that may answer from
    a validator runs it, and the ORM's and the expression language's work per statement
    cost more than the query. It still goes through the engine, so its errors and its
    events are every other statement's, on the replica the request reads from.
    """
    value = db.session.connection().exec_driver_sql(MARKER_SQL).scalar()
    return str(value) if value else ""


def page_digest(state: str | None = None) -> str:
    """Return a digest of what this request's answer is made from: the code, the settings,
    the catalog's change marker (read here, before anything the answer shows, unless given
    as ``state``) and the URL."""
    config = current_app.config
    settings = "|".join(str(config.get(name)) for name in PAGE_SETTINGS)
    state = marker() if state is None else state
    # The URL as it came, from its parts: ``request.url`` would decode it into an IRI.
    url = f"{request.scheme}://{request.host}{request.root_path}{request.path}"
    query = request.query_string.decode("latin-1")
    key = f"{code_version()}|{settings}|{state}|{url}?{query}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def page_etag() -> str:
    """Return the weak ETag of the page this request asks for, as the catalog is now."""
    return quote_etag(page_digest(), weak=True)


class MemoryPages:
    """Rendered pages kept in this process, the most recently used up to ``size`` bytes."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.used = 0
        self._pages: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()  # gthread workers serve requests in threads

    def get(self, key: str) -> bytes | None:
        with self._lock:
            page = self._pages.get(key)
            if page is not None:
                self._pages.move_to_end(key)
            return page

    def set(self, key: str, page: bytes) -> None:
        with self._lock:
            before = self._pages.pop(key, None)
            self.used += len(page) - (len(before) if before is not None else 0)
            self._pages[key] = page
            while self.used > self.size:
                self.used -= len(self._pages.popitem(last=False)[1])


class RedisPages:
    """Rendered pages kept in Redis, shared by every process, each for ``PAGE_SECONDS``.

    Redis is a helper here too (catalog.web.limits), and a read must not wait on it:
    each call gives up after ``REDIS_PAGE_TIMEOUT`` (Redis answers in a fraction of a
    millisecond; rendering the page takes a few), and after one fails the pages are
    rendered without it for ``REDIS_PAUSE`` seconds, so that a hung Redis costs one
    request a tenth of a second, not each.
    """

    def __init__(self, url: str) -> None:
        options = redis_options() | {
            "socket_connect_timeout": REDIS_PAGE_CONNECT_TIMEOUT,
            "socket_timeout": REDIS_PAGE_TIMEOUT,
        }
        self.client = redis.Redis.from_url(url, **options)
        self._paused_until = 0.0

    def _call(self, call: Callable[[], Any]) -> Any:
        if time.monotonic() < self._paused_until:
            return None
        try:
            return call()
        except redis.RedisError as exc:
            self._paused_until = time.monotonic() + REDIS_PAUSE
            log.warning(
                "page cache: Redis failed (%s); rendering without it for %d s", exc, REDIS_PAUSE
            )
            return None

    def get(self, key: str) -> bytes | None:
        page: bytes | None = self._call(lambda: self.client.get(REDIS_PREFIX + key))
        return page

    def set(self, key: str, page: bytes) -> None:
        self._call(lambda: self.client.set(REDIS_PREFIX + key, page, ex=PAGE_SECONDS))


def pages() -> MemoryPages | RedisPages:
    """Return the app's store of rendered pages: Redis with ``REDIS_URL``, else in-process."""
    store = current_app.extensions.get(PAGES_EXTENSION)
    if store is None:
        url = current_app.config.get("REDIS_URL")
        store = RedisPages(url) if url else MemoryPages(MEMORY_BYTES)
        current_app.extensions[PAGES_EXTENSION] = store
    return cast(MemoryPages | RedisPages, store)


def _kept(response: Response) -> bytes | None:
    """Return ``response`` as the store keeps it, or None if it is not to be kept."""
    if response.is_streamed or response.direct_passthrough:
        return None
    body = response.get_data()
    if len(body) > PAGE_MAX_BYTES:
        return None
    headers = [[name, response.headers[name]] for name in KEPT_HEADERS if name in response.headers]
    return json.dumps(headers).encode() + b"\n" + body


def _restored(page: bytes) -> Response:
    headers, _, body = page.partition(b"\n")
    response = current_app.response_class(body)
    for name, value in json.loads(headers):
        response.headers[name] = value
    return response


def kept_answer(key: str) -> Response | None:
    """Return the answer kept under ``key`` (a ``page_digest``), with its headers, or None.

    For the views that find their validators themselves (the API's item); the pages'
    kept answers are found by ``revalidate``.
    """
    page = pages().get(key)
    return None if page is None else _restored(page)


def keep_answer(key: str, response: Response) -> None:
    """Keep ``response`` under ``key`` (a ``page_digest`` read before what it shows)."""
    page = _kept(response)
    if page is not None:
        pages().set(key, page)


def _private() -> bool:
    return current_app.config["SESSION_COOKIE_NAME"] in request.cookies


def revalidate(personal: bool = True) -> Response | None:
    """Find this request's ETag; return the answer if it needs no view: a 304 when
    ``If-None-Match`` has the ETag, or the page as kept from an earlier request.

    ``@validated`` calls it before the view, or the view itself (``deferred``) once it
    has refused what it refuses without a query, and before its first one; such a view
    returns what it got, as it is. The marker must be read before what the page shows,
    never after, or a page from before a change could carry the ETag of after it.
    """
    # Kept with the request, not in ``g``: an app context can outlive one request.
    environ = request.environ
    if _ETAG in environ:
        return None
    environ[_ETAG] = None
    if personal and _private():
        return None
    state = marker()
    digest = page_digest(state)
    etag = quote_etag(digest, weak=True)
    if request.if_none_match.contains_weak(digest):
        return _answered(current_app.response_class(status=304), etag, personal)
    environ[_ETAG] = etag
    # Without its row the marker says nothing of the catalog: nothing is kept then.
    if state:
        environ[_KEY] = digest
        page = pages().get(digest)
        if page is not None:
            return _answered(_restored(page), etag, personal)
    return None


def _answered(response: Response, etag: str, personal: bool) -> Response:
    request.environ[_ANSWER] = response
    return _headers(response, etag, PUBLIC, personal)


def _headers(response: Response, etag: str | None, policy: str, personal: bool) -> Response:
    if etag is not None:
        response.headers["ETag"] = etag
    response.headers["Cache-Control"] = policy
    if personal:
        # Parsed and added to only when there is a Vary to keep: most answers have none.
        if "Vary" in response.headers:
            response.vary.add("Cookie")
        else:
            response.headers["Vary"] = "Cookie"
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
                early = revalidate(personal)
                if early is not None:
                    return early
            response: Response = make_response(view(*args, **kwargs))
            # A deferred view returns what ``revalidate`` answered as it is.
            answered = request.environ.get(_ANSWER) is response
            if answered:
                return response
            if personal and _private():
                return _headers(response, None, PRIVATE, personal)
            if response.status_code != 200:
                return response
            key = request.environ.get(_KEY)
            if key is not None:
                page = _kept(response)
                if page is not None:
                    pages().set(key, page)
            return _headers(response, request.environ.get(_ETAG), PUBLIC, personal)

        return cast(V, wrapper)

    return decorate
