"""The catalog for programs that read it whole: /catalog.json and the Atom feed of new items.

/catalog.json streams: one query for the categories, one for every item in
category order read in chunks (a server-side cursor on PostgreSQL), written out
as it is read. Its cost in queries and memory does not grow with the catalog.
"""

import json
import re
from urllib.parse import urlsplit

from feedgen.feed import FeedGenerator
from flask import Blueprint, Response, request, stream_with_context, url_for
from sqlalchemy import select

from catalog.extensions import db
from catalog.links import Links
from catalog.models import Category, Item, utcnow
from catalog.serialize import ITEM_COLUMNS, category_dict, item_fields, item_rows

bp = Blueprint("feeds", __name__)

# Rows fetched per round trip while streaming, and items encoded and written at a time.
CHUNK_ROWS = 1000
CHUNK_ITEMS = 500
FEED_ENTRIES = 50
# Tag URIs (RFC 4151) name the site's host and a date it held that name; the feed
# uses this date, each entry the day its item was added, so ids never change.
FEED_TAG_DATE = "2025"
# The streamed rows are ITEM_COLUMNS, in this order, then the category id.
_ITEM_FIELDS = tuple(column.key for column in ITEM_COLUMNS)
# Characters XML 1.0 cannot carry; descriptions are checked on the way in, but the
# feed must stay well-formed whatever an old row holds.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _json_items(batch: list[dict], first: bool) -> str:
    """Return ``batch`` as JSON array members, with a leading comma unless ``first``."""
    members = json.dumps(batch, ensure_ascii=False)[1:-1]
    return members if first else "," + members


def _catalog_chunks(categories: list[Category], rows, links: Links):
    """Yield /catalog.json in pieces of at most ``CHUNK_ITEMS`` items, merging items into
    their categories.

    ``categories`` and ``rows`` are both in category id order. Rows of a category
    missing from ``categories`` (added after it was read) are skipped.
    """
    yield '{"categories":['
    row = next(rows, None)
    for n, category in enumerate(categories):
        head = links.add_to_category(category_dict(category))
        head["items"] = []
        # The category's fields, then its items in place of the empty list.
        pending = [("," if n else "") + json.dumps(head, ensure_ascii=False)[: -len("]}")]]
        batch: list[dict] = []
        first = True
        while row is not None and row.category_id <= category.id:
            if row.category_id == category.id:
                fields = item_fields(**dict(zip(_ITEM_FIELDS, row[:-1], strict=True)))
                batch.append(links.add_to_item(fields))
                if len(batch) == CHUNK_ITEMS:
                    pending.append(_json_items(batch, first))
                    yield "".join(pending)
                    pending, batch, first = [], [], False
            row = next(rows, None)
        if batch:
            pending.append(_json_items(batch, first))
        pending.append("]}")
        yield "".join(pending)
    yield "]}"


@bp.get("/catalog.json")
def catalog_json():
    """Stream the whole catalog: every category with all of its items."""
    categories = list(db.session.scalars(select(Category).order_by(Category.id)))
    links = Links()

    def generate():
        result = db.session.execute(
            item_rows()
            .add_columns(Item.category_id)
            .order_by(Item.category_id, Item.slug)
            .execution_options(yield_per=CHUNK_ROWS)
        )
        try:
            yield from _catalog_chunks(categories, iter(result), links)
        finally:
            result.close()

    return Response(stream_with_context(generate()), mimetype="application/json")


def tag_uri(date: str, specific: str) -> str:
    """Return a tag URI (RFC 4151) for this site's host, ``date`` and ``specific`` part."""
    host = urlsplit(f"//{request.host}").hostname or "localhost"
    return f"tag:{host},{date}:{specific}"


def _xml_text(value: str) -> str:
    return _NOT_XML.sub("", value)


@bp.get("/catalog/latest.atom")
def latest_atom():
    """Serve an Atom feed of the newest items, newest first."""
    rows = db.session.execute(
        item_rows().order_by(Item.created.desc(), Item.id.desc()).limit(FEED_ENTRIES)
    ).all()
    links = Links()
    feed = FeedGenerator()
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
    for row in rows:
        url = links.add_to_item(item_fields(**row._mapping))["url"]
        entry = feed.add_entry(order="append")
        entry.id(tag_uri(row.created.date().isoformat(), f"catalog/items/{row.id}"))
        entry.title(_xml_text(row.name))
        entry.link(href=url, rel="alternate")
        entry.author(name=_xml_text(row.owner_name))
        entry.published(row.created)
        entry.updated(row.updated)
        entry.category(term=row.category_slug, label=_xml_text(row.category_name))
        entry.content(_xml_text(row.description) or "No description.", type="text")
    return Response(feed.atom_str(pretty=False), mimetype="application/atom+xml")
