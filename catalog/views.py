"""HTML pages for browsing: home, a category's items, one item."""

from collections.abc import Sequence

from flask import Blueprint, abort, current_app, render_template, request
from sqlalchemy import bindparam, select

from catalog.extensions import db
from catalog.images.processing import DISPLAY
from catalog.links import Links
from catalog.lookups import category_row, item_row
from catalog.models import Category, Image, Item
from catalog.serialize import AnyRow
from catalog.text import storable
from catalog.web.caching import validated
from catalog.web.connections import read_only

bp = Blueprint("catalog", __name__)

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
# A page of a category's items in slug order, walked by keyset on the (category_id, slug)
# index: the first page, the page after a slug, and the page before one (read backwards).
_PAGE = (
    select(Item.name, Item.slug, *_THUMBNAIL_COLUMNS)
    .outerjoin(Item.image)
    .where(Item.category_id == bindparam("category_id"))
    .limit(bindparam("rows"))
)
FIRST_PAGE = _PAGE.order_by(Item.slug)
PAGE_AFTER = _PAGE.where(Item.slug > bindparam("after")).order_by(Item.slug)
PAGE_BEFORE = _PAGE.where(Item.slug < bindparam("before")).order_by(Item.slug.desc())


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
    """Show one page of a category's items in name order.

    Pages are keyset-paginated on the item slug (``?after=`` and ``?before=``),
    so a page deep in a large category costs the same as the first one.
    """
    category = category_row(category_slug)
    per_page = current_app.config["ITEMS_PER_PAGE"]
    after = request.args.get("after", type=str)
    before = request.args.get("before", type=str)
    if not storable((after or "") + (before or "")):
        abort(400, description="That page link is damaged; start from the first page.")

    if before is not None:
        query, bound = PAGE_BEFORE, {"before": before}
    elif after is not None:
        query, bound = PAGE_AFTER, {"after": after}
    else:
        query, bound = FIRST_PAGE, {}
    rows = db.session.execute(
        query, {"category_id": category.id, "rows": per_page + 1, **bound}
    ).all()

    more = len(rows) > per_page
    rows = list(rows[:per_page])
    if before is not None:
        rows.reverse()
        has_previous, has_next = more, True
    else:
        has_previous, has_next = after is not None, more
    links = Links(external=False)
    return render_template(
        "catalog/category.html",
        category=category,
        items=[
            (row.name, links.item_url(category.slug, row.slug), links.thumbnail(row))
            for row in rows
        ],
        previous_slug=rows[0].slug if rows and has_previous else None,
        next_slug=rows[-1].slug if rows and has_next else None,
    )


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
