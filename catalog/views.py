"""HTML pages for browsing: home, a category's items, one item."""

import functools
from collections.abc import Sequence
from typing import Any

from flask import Blueprint, abort, current_app, render_template, request, url_for
from sqlalchemy import bindparam, select

from catalog.extensions import db
from catalog.images.processing import DISPLAY
from catalog.links import Links
from catalog.listings import (
    DEFAULT_SORT,
    SORTS,
    category_statement,
    one_line,
    owner_page,
    read_page,
)
from catalog.lookups import category_row, item_row
from catalog.models import ID_MAX, Category, Image, Item, User
from catalog.serialize import AnyRow
from catalog.text import storable
from catalog.web.caching import validated
from catalog.web.connections import read_only

bp = Blueprint("catalog", __name__)

DAMAGED_LINK = "That page link is damaged; start from the first page."

# Built once: a statement made anew for each request costs more than running it.
CATEGORIES = select(Category.name, Category.slug, Category.item_count).order_by(Category.name)
# What a list needs of an item's picture, from the same statement as the rest.
_THUMBNAIL_COLUMNS = (
    Item.image_sha256,
    Image.width.label("image_width"),
    Image.height.label("image_height"),
)
LATEST_ITEMS = (
    select(
        Item.name,
        Item.slug,
        Item.created,
        Category.slug.label("category_slug"),
        Category.name.label("category_name"),
        *_THUMBNAIL_COLUMNS,
    )
    .join(Item.category)
    .outerjoin(Item.image)
    .order_by(Item.created.desc(), Item.id.desc())
    .limit(bindparam("rows"))
)


def latest_items(limit: int) -> Sequence[AnyRow]:
    """Return the newest items (name, slug, created, category_slug, category_name, and
    image_sha256, image_width, image_height)."""
    return db.session.execute(LATEST_ITEMS, {"rows": limit}).all()


@bp.get("/")
@read_only
@validated()
def index() -> str:
    """Show every category with its item count, and the latest items.

    The lists reach the template as tuples with their links already made: in a loop,
    each method call and attribute lookup in Jinja costs more than doing it here.
    """
    links = Links(external=False)
    categories = [
        (name, links.category_url(slug), count)
        for name, slug, count in db.session.execute(CATEGORIES)
    ]
    latest = [
        (
            item.name,
            links.item_url(item.category_slug, item.slug),
            item.category_name,
            links.category_url(item.category_slug),
            item.created,
            links.thumbnail(item),
        )
        for item in latest_items(current_app.config["LATEST_ITEMS"])
    ]
    return render_template("catalog/index.html", categories=categories, latest=latest)


@bp.get("/catalog/<category_slug>/")
@read_only
@validated()
def category(category_slug: str) -> str:
    """Show one page of a category's items, by name, newest first, or by latest change.

    Pages are keyset-paginated (``?after=`` and ``?before=``, a slug for the name order,
    an item id for the others), so a page deep in a large category costs the same as the
    first one. ``?start=`` is the position of the page's first item, carried by the
    links: it says where the page is without counting the items before it.
    """
    category = category_row(category_slug)
    per_page = current_app.config["ITEMS_PER_PAGE"]
    sort = request.args.get("sort", DEFAULT_SORT)
    if sort not in SORTS:
        sort = DEFAULT_SORT
    after, before = _cursor("after", sort), _cursor("before", sort)
    page = read_page(
        functools.partial(category_statement, sort),
        {"category_id": category.id},
        per_page,
        after=after,
        before=before,
    )
    start = request.args.get("start", type=int)
    if after is None and before is None:
        start = 1
    elif start is not None and not 1 <= start <= category.item_count:
        start = None
    links = Links(external=False)
    kept: dict[str, Any] = {"category_slug": category.slug}
    if sort != DEFAULT_SORT:
        kept["sort"] = sort

    def cursor_of(row: AnyRow) -> str | int:
        cursor: str | int = row.slug if sort == "name" else row.id
        return cursor

    previous_url = next_url = start_url = None
    if page.rows and page.has_previous:
        moved = {"start": max(1, start - per_page)} if start else {}
        previous_url = url_for("catalog.category", **kept, before=cursor_of(page.rows[0]), **moved)
    if page.rows and page.has_next:
        moved = {"start": start + len(page.rows)} if start else {}
        next_url = url_for("catalog.category", **kept, after=cursor_of(page.rows[-1]), **moved)
    if after is not None or before is not None:
        start_url = url_for("catalog.category", **kept)
    return render_template(
        "catalog/category.html",
        category=category,
        sort=sort,
        sorts=SORTS,
        items=[
            (
                row.name,
                links.item_url(category.slug, row.slug),
                links.thumbnail(row),
                one_line(row.summary),
                row.updated if sort == "updated" else row.created,
            )
            for row in page.rows
        ],
        dated="Updated" if sort == "updated" else "Added",
        position=(start, start + len(page.rows) - 1) if start and page.rows else None,
        previous_url=previous_url,
        next_url=next_url,
        start_url=start_url,
    )


def _cursor(name: str, sort: str) -> str | int | None:
    """Return the page link's ``after`` or ``before``: a slug, or an id; 400 if damaged."""
    if sort != "name":
        return _id_cursor(name)
    value = request.args.get(name, type=str)
    if value is not None and not storable(value):
        abort(400, description=DAMAGED_LINK)
    return value


def _id_cursor(name: str) -> int | None:
    """Return the page link's ``after`` or ``before``, an item id; 400 if damaged."""
    value = request.args.get(name, type=str)
    if value is None:
        return None
    if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= ID_MAX:
        abort(400, description=DAMAGED_LINK)
    return int(value)


@bp.get("/catalog/<category_slug>/<item_slug>/")
@read_only
@validated()
def item(category_slug: str, item_slug: str) -> str:
    """Show one item with its category, owner, dates and picture."""
    item = item_row(category_slug, item_slug)
    shown = None
    if item.image_sha256 is not None:
        shown = Links(external=False).picture(
            item.image_sha256, item.image_width, item.image_height, DISPLAY
        )
    return render_template("catalog/item.html", item=item, picture=shown)


# The person a public list of items names: the name alone, never the e-mail.
OWNER = select(User.id, User.name).where(User.id == bindparam("user_id"))


@bp.get("/users/<int_id:user_id>/")
@read_only
@validated()
def owner(user_id: int) -> str:
    """Show the items a person added, newest first, a page at a time (by keyset on id)."""
    person = db.session.execute(OWNER, {"user_id": user_id}).one_or_none()
    if person is None:
        abort(404, description="There is no such person.")
    after, before = _id_cursor("after"), _id_cursor("before")
    listing = owner_page(person.id, after, before)
    start_url = (
        url_for("catalog.owner", user_id=person.id)
        if after is not None or before is not None
        else None
    )
    return render_template("catalog/owner.html", person=person, start_url=start_url, **listing)
