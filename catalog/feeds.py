"""The catalog for programs that read it whole: /catalog.json and the Atom feed of new items.

/catalog.json streams: one query for the categories, one for every item in
category order read in chunks (a server-side cursor on PostgreSQL), written out
as it is read. Its cost in queries and memory does not grow with the catalog.

On PostgreSQL the database formats the timestamps and Python writes each item with
one f-string from plain columns, instead of a dict, its links and ``json.dumps``: the
download takes about a third of the time it did, so a million items stream within
gunicorn's 30 s. Having PostgreSQL write the items' JSON (``to_json``,
``json_build_object``) measured slower: it escapes strings more slowly than Python, and
through a server-side cursor the two take turns rather than work at once. The document
is the same, byte for byte, as the one built from ``item_fields`` and ``Links`` (which
SQLite still uses); the tests hold the two to that.
"""

import json
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from itertools import groupby, islice
from json.encoder import encode_basestring as _json_string  # json.dumps's own, in C
from operator import attrgetter
from urllib.parse import urlsplit

from feedgen.feed import FeedGenerator
from flask import Blueprint, Response, request, stream_with_context, url_for
from sqlalchemy import ColumnElement, SQLColumnExpression, func, select

from catalog.extensions import db
from catalog.links import Links, url_segment
from catalog.models import Category, Image, Item, User, utcnow
from catalog.serialize import (
    ITEM_COLUMNS,
    AnyRow,
    AnySelect,
    category_dict,
    item_fields,
    item_rows,
    picture_fields,
)
from catalog.text import xml_text
from catalog.web.caching import validated
from catalog.web.connections import reads_in_transaction

bp = Blueprint("feeds", __name__)

# Rows fetched per round trip while streaming, and items encoded and written at a time.
CHUNK_ROWS = 1000
CHUNK_ITEMS = 500
FEED_ENTRIES = 50
# Tag URIs (RFC 4151) name the site's host and a date it held that name; the feed
# uses this date, each entry the day its item was added, so ids never change.
FEED_TAG_DATE = "2025"
# The Python path's rows are ITEM_COLUMNS, in this order, then the category id.
_ITEM_FIELDS = tuple(column.key for column in ITEM_COLUMNS)
# datetime.isoformat() of a UTC timestamp, as to_char writes it; the fraction is dropped
# below when it is zero, as isoformat() drops it.
_ISOFORMAT_UTC = 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'
_category_of = attrgetter("category_id")
# Writes a batch of one category's rows as JSON array members.
Encoder = Callable[[Category, list[AnyRow]], str]


def _json(value: object) -> str:
    """Return ``value`` as JSON, in the one formatting the whole document uses."""
    return json.dumps(value, ensure_ascii=False)


def _isoformat(timestamp: SQLColumnExpression[datetime]) -> ColumnElement[str]:
    """Return SQL formatting ``timestamp`` as ``datetime.isoformat()`` does it in UTC."""
    text = func.to_char(func.timezone("UTC", timestamp), _ISOFORMAT_UTC)
    return func.replace(text, ".000000+", "+")


def _postgresql_items(links: Links) -> tuple[AnySelect, Encoder]:
    """Return the items query for PostgreSQL, and how to write a batch of its rows as JSON.

    The rows are plain values and preformatted timestamps; each item is one f-string
    in ``item_fields`` order, with its links as ``Links`` makes them. An item's category
    is written as the categories were read, once per batch.
    """
    query = (
        select(
            Item.category_id,
            Item.id,
            Item.name,
            Item.slug,
            Item.description,
            User.id,
            User.name,
            _isoformat(Item.created),
            _isoformat(Item.updated),
            Item.version,
            Item.image_alt,
            Item.image_sha256,
            Image.width,
            Image.height,
            Image.format,
        )
        .join(Item.owner)
        .outerjoin(Item.image)
    )
    api_items = _json(links.api_items)[1:-1]

    def image(name: str, alt: str, sha256: str, width: int, height: int, format: str) -> str:
        # Built as the reference builds it: a picture's URLs cost more than its item's text.
        picture = picture_fields(
            name=name,
            image_alt=alt,
            image_sha256=sha256,
            image_width=width,
            image_height=height,
            image_format=format,
        )
        assert picture is not None  # called only for rows with a picture
        return _json(links.image_document(picture))

    def encode(category: Category, rows: list[AnyRow]) -> str:
        fields = _json({"slug": category.slug, "name": category.name})
        page = _json(links.category_url(category.slug))[1:-1]
        return ", ".join(
            [
                f'{{"id": {item_id}, "name": {_json_string(name)}, "slug": {_json_string(slug)}, '
                f'"description": {_json_string(text)}, "category": {fields}, '
                f'"owner": {{"id": {owner_id}, "name": {_json_string(owner)}}}, '
                f'"created": "{created}", "updated": "{updated}", "version": {version}, '
                f'"image_alt": {_json_string(alt)}, '
                f'"image": {"null" if sha256 is None else image(name, alt, sha256, *picture)}, '
                f'"url": "{page}{url_segment(slug)}/", "api_url": "{api_items}/{item_id}"}}'
                for (
                    _,
                    item_id,
                    name,
                    slug,
                    text,
                    owner_id,
                    owner,
                    created,
                    updated,
                    version,
                    alt,
                    sha256,
                    *picture,
                ) in rows
            ]
        )

    return query, encode


def _python_items(links: Links) -> tuple[AnySelect, Encoder]:
    """Return the items query for any database, and how to write a batch of its rows as JSON.

    Each row becomes ``item_fields`` with ``Links``: the reference the PostgreSQL
    path must match.
    """
    query = item_rows().add_columns(Item.category_id)

    def encode(category: Category, rows: list[AnyRow]) -> str:
        batch = [
            links.add_to_item(item_fields(**dict(zip(_ITEM_FIELDS, row[:-1], strict=True))))
            for row in rows
        ]
        return _json(batch)[1:-1]

    return query, encode


def _batches(rows: Iterable[AnyRow]) -> Iterator[tuple[int, list[AnyRow]]]:
    """Yield ``(category id, rows)`` for runs of rows of one category, ``CHUNK_ITEMS`` at most."""
    for category_id, run in groupby(rows, _category_of):
        while batch := list(islice(run, CHUNK_ITEMS)):
            yield category_id, batch


def _catalog_chunks(
    categories: list[Category], rows: Iterable[AnyRow], encode: Encoder, links: Links
) -> Iterator[str]:
    """Yield /catalog.json in pieces of at most ``CHUNK_ITEMS`` items, merging items into
    their categories; ``encode(category, rows)`` writes a batch of rows as JSON array members.

    ``categories`` and ``rows`` are both in category id order. Rows of a category
    missing from ``categories`` (added after it was read) are skipped.
    """
    yield '{"categories":['
    pending: list[str] = []
    batches = _batches(rows)
    batch = next(batches, None)
    for n, category in enumerate(categories):
        head = links.add_to_category(category_dict(category))
        head["items"] = []
        # The category's fields, then its items in place of the empty list.
        pending.append(("," if n else "") + _json(head)[: -len("]}")])
        first = True
        while batch is not None and batch[0] <= category.id:
            category_id, rows_of_category = batch
            if category_id == category.id:
                pending.append(("" if first else ",") + encode(category, rows_of_category))
                yield "".join(pending)
                pending, first = [], False
            batch = next(batches, None)
        pending.append("]}")
    pending.append("]}")
    yield "".join(pending)


@bp.get("/catalog.json")
@reads_in_transaction
@validated(personal=False)
def catalog_json() -> Response:
    """Stream the whole catalog: every category with all of its items."""
    categories = list(db.session.scalars(select(Category).order_by(Category.id)))
    links = Links()
    on_postgresql = db.session.get_bind().dialect.name == "postgresql"
    query, encode = (_postgresql_items if on_postgresql else _python_items)(links)

    def generate() -> Iterator[str]:
        result = db.session.connection().execute(
            query.order_by(Item.category_id, Item.slug).execution_options(yield_per=CHUNK_ROWS)
        )
        try:
            yield from _catalog_chunks(categories, result, encode, links)
        finally:
            result.close()

    return Response(stream_with_context(generate()), mimetype="application/json")


def tag_uri(date: str, specific: str) -> str:
    """Return a tag URI (RFC 4151) for this site's host, ``date`` and ``specific`` part."""
    host = urlsplit(f"//{request.host}").hostname or "localhost"
    return f"tag:{host},{date}:{specific}"


@bp.get("/catalog/latest.atom")
@reads_in_transaction
@validated(personal=False)
def latest_atom() -> Response:
    """Serve an Atom feed of the newest items, newest first."""
    rows = db.session.execute(
        item_rows().order_by(Item.created.desc(), Item.id.desc()).limit(FEED_ENTRIES)
    ).all()
    links = Links()
    feed = FeedGenerator()
    feed.load_extension("media")
    feed.id(tag_uri(FEED_TAG_DATE, "catalog/latest"))
    feed.title("Catalog: latest items")
    feed.subtitle("The newest items added to the catalog.")
    feed.link(href=url_for("feeds.latest_atom", _external=True), rel="self")
    feed.link(href=url_for("catalog.index", _external=True), rel="alternate")
    feed.language("en")
    # Atom requires an author for the feed unless every entry has one; empty feeds need it.
    feed.author(name="Catalog")
    feed.generator("Catalog")
    feed.updated(max(row.updated for row in rows) if rows else utcnow())
    # Text was checked on the way in, but the feed must stay well-formed XML whatever an
    # old row holds: xml_text drops what XML cannot carry.
    for row in rows:
        document = links.add_to_item(item_fields(**row._mapping))
        entry = feed.add_entry(order="append")
        entry.id(tag_uri(row.created.date().isoformat(), f"catalog/items/{row.id}"))
        entry.title(xml_text(row.name))
        entry.link(href=document["url"], rel="alternate")
        if document["image"] is not None:
            # As Media RSS, which feed readers show (feedgen writes entry links without
            # their rel, so an enclosure link would read as a second alternate). In
            # JPEG, which every reader can show.
            picture = document["image"]
            display, thumbnail = picture["display"], picture["thumbnail"]
            entry.media.content(
                url=display["jpeg"],
                type="image/jpeg",
                medium="image",
                width=str(display["width"]),
                height=str(display["height"]),
            )
            entry.media.thumbnail(
                url=thumbnail["jpeg"],
                width=str(thumbnail["width"]),
                height=str(thumbnail["height"]),
            )
        entry.author(name=xml_text(row.owner_name))
        entry.published(row.created)
        entry.updated(row.updated)
        entry.category(term=row.category_slug, label=xml_text(row.category_name))
        entry.content(xml_text(row.description) or "No description.", type="text")
    return Response(feed.atom_str(pretty=False), mimetype="application/atom+xml")
