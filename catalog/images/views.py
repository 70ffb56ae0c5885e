"""Serve pictures at ``/images/<sha256>-<variant>``, to be cached for good.

A URL names the picture by the hash of its original and the file by its size and
format (``200.webp``, ``1200.jpg``, ``full.png``), and what it names never changes:
a new picture has a new hash. So every answer may be kept for a year by browsers and
by a CDN in front (``immutable``: not even revalidated on reload), and its ETag is
its name. Each request costs one query on the primary key of ``image_files`` (a
revalidation reads no bytes), and no session: a signed-in visitor's picture is the
same as anyone's, so answers never vary by cookie.
"""

import re

from flask import Blueprint, Response, abort, request, url_for
from sqlalchemy import bindparam, select

from catalog.extensions import db
from catalog.images.processing import ORIGINAL, SIZES
from catalog.models import ImageFile
from catalog.web.connections import read_only

bp = Blueprint("images", __name__)

ENDPOINT = "images.serve"
CACHE_FOREVER = "public, max-age=31536000, immutable"
_NAME = re.compile(
    rf"(?P<sha256>[0-9a-f]{{64}})-(?P<variant>(?:{ORIGINAL}|{'|'.join(SIZES)})\.(?:jpg|png|webp))"
)
# Built once: a statement made anew for each request costs more than running it.
_WHERE = (
    ImageFile.image_sha256 == bindparam("sha256"),
    ImageFile.variant == bindparam("variant"),
)
FILE = select(ImageFile.media_type, ImageFile.data).where(*_WHERE)
FILE_TYPE = select(ImageFile.media_type).where(*_WHERE)


def url_prefix(external: bool = False) -> str:
    """Return what every picture's URL starts with: ``/images/``, or the absolute URL."""
    return url_for(ENDPOINT, name="x", _external=external)[:-1]


def _cached(response: Response, etag: str) -> Response:
    response.set_etag(etag)
    response.headers["Cache-Control"] = CACHE_FOREVER
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/images/<name>")
@read_only
def serve(name: str) -> Response:
    """Send one file of a picture, or 304 when the client's copy is it."""
    match = _NAME.fullmatch(name)
    if match is None:
        abort(404, description="There is no such picture.")
    found = match.groupdict()
    etag = name
    if request.if_none_match.contains_weak(etag):
        media_type = db.session.scalar(FILE_TYPE, found)
        if media_type is None:
            abort(404, description="There is no such picture.")
        return _cached(Response(status=304), etag)
    row = db.session.execute(FILE, found).first()
    if row is None:
        abort(404, description="There is no such picture.")
    return _cached(Response(row.data, mimetype=row.media_type), etag)
