"""Find the row a URL names, or answer 404: the one place pages and the API look it up.

Every view that starts from a URL's slugs or id starts here, so that what "there is
no such item" means and says is written once: an item by its category's slug and its
own (the pages), an item by id (the API), a category by slug, and one of the signed-in
user's API tokens by id. A slug holding NUL cannot be compared in SQL (catalog.text)
and names nothing.

Each lookup comes in the shape its callers need: the ORM object with what its pages
show loaded, for views that change it (``check_owner`` adds the 403 of flaskr's
``get_post``), or a row of plain columns (catalog.serialize) for the pages and API
reads that only show it, from a statement built once: building a statement anew for
each request costs more than running it.
"""

from typing import Any, NoReturn
from urllib.parse import quote

from flask import abort, g, redirect, request, url_for
from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Select,
    String,
    bindparam,
    literal,
    select,
    union_all,
)
from sqlalchemy.orm import contains_eager

from catalog.changes import can_change
from catalog.extensions import db
from catalog.links import Links
from catalog.models import ApiToken, Category, Item, OldCategorySlug, OldItemSlug, User
from catalog.serialize import AnyRow, AnySelect, item_rows
from catalog.text import nfc, storable

NO_CATEGORY = "There is no such category."
NO_ITEM = "There is no such item in this category."
NO_TOKEN = "You have no such token."  # noqa: S105 -- a message, not a secret

ITEM_BY_SLUGS = item_rows().where(
    Category.slug == bindparam("category_slug"), Item.slug == bindparam("item_slug")
)
ITEM_BY_ID = item_rows().where(Item.id == bindparam("item_id"))
CATEGORY_BY_SLUG = select(
    Category.id, Category.name, Category.slug, Category.description, Category.item_count
).where(Category.slug == bindparam("slug"))


# Where a URL that names nothing may have meant, tried only then: the canonical spelling
# of its slugs (slugs are lower-case and NFC, so "/catalog/Soccer/" meant "soccer"), and
# the slugs categories and items had before a rename or a move. Each statement returns
# the current slugs, live rows first, then the newest old slug.
_CATEGORY: BindParameter[str] = bindparam("category_slug", type_=String())
_ITEM: BindParameter[str] = bindparam("item_slug", type_=String())
MOVED_CATEGORY = (
    union_all(
        select(Category.slug, literal(0).label("rank"), literal(0).label("age")).where(
            Category.slug == _CATEGORY
        ),
        select(Category.slug, literal(1), -OldCategorySlug.id)
        .join(OldCategorySlug, OldCategorySlug.category_id == Category.id)
        .where(OldCategorySlug.slug == _CATEGORY),
    )
    .order_by("rank", "age")
    .limit(1)
)
_CATEGORY_IDS = union_all(
    select(Category.id).where(Category.slug == _CATEGORY),
    select(OldCategorySlug.category_id).where(OldCategorySlug.slug == _CATEGORY),
)
MOVED_ITEM = (
    union_all(
        select(
            Category.slug.label("category_slug"),
            Item.slug.label("item_slug"),
            literal(0).label("rank"),
            literal(0).label("age"),
        )
        .join(Item.category)
        .where(Item.category_id.in_(_CATEGORY_IDS), Item.slug == _ITEM),
        select(Category.slug, Item.slug, literal(1), -OldItemSlug.id)
        .select_from(OldItemSlug)
        .join(Item, Item.id == OldItemSlug.item_id)
        .join(Item.category)
        .where(OldItemSlug.category_id.in_(_CATEGORY_IDS), OldItemSlug.slug == _ITEM),
    )
    .order_by("rank", "age")
    .limit(1)
)


def canonical(slug: str) -> str:
    """Return ``slug`` as slugs are written: composed (NFC) and lower-case."""
    return nfc(slug).lower()


def _moved(url: str | None, description: str) -> NoReturn:
    """Answer 301 to ``url``, the query string kept, or 404 when there is none."""
    if url is None:
        abort(404, description=description)
    # As sent, but with any byte a Location header cannot carry percent-encoded.
    query = quote(request.query_string, safe="%&=+;/?:@,$!*'()~")
    abort(redirect(f"{url}?{query}" if query else url, 301))


def moved_category_url(category_slug: str) -> str | None:
    """Return the page of the category ``category_slug`` spells otherwise or named once."""
    row = db.session.execute(MOVED_CATEGORY, {"category_slug": canonical(category_slug)}).first()
    return None if row is None else Links(external=False).category_url(row.slug)


def moved_item(category_slug: str, item_slug: str) -> tuple[str, str] | None:
    """Return the current slugs of the item these spell otherwise or named once, or None."""
    slugs = {"category_slug": canonical(category_slug), "item_slug": canonical(item_slug)}
    row = db.session.execute(MOVED_ITEM, slugs).first()
    return None if row is None else (row.category_slug, row.item_slug)


def moved_item_url(category_slug: str, item_slug: str) -> str | None:
    """Return the page of the item these slugs spell otherwise or named once, or None."""
    moved = moved_item(category_slug, item_slug)
    return None if moved is None else Links(external=False).item_url(*moved)


def no_item(item_id: int) -> str:
    """Say that the API has no item ``item_id``."""
    return f"There is no item {item_id}."


def _row_or_404(statement: AnySelect, params: dict[str, Any], description: str) -> AnyRow:
    row = db.session.execute(statement, params).first()
    if row is None:
        abort(404, description=description)
    return row


def _item(*where: ColumnElement[bool]) -> Select[Item]:
    """Select an item with its category and owner loaded, as the pages show it."""
    return (
        select(Item)
        .join(Item.category)
        .join(Item.owner)
        .options(contains_eager(Item.category), contains_eager(Item.owner))
        .where(*where)
    )


def get_category(slug: str) -> Category:
    """Return the category with ``slug``, or the one it named before a rename, or abort
    with 404 (see ``_moved_item``)."""
    if not storable(slug):
        abort(404, description=NO_CATEGORY)
    category = db.session.scalars(select(Category).where(Category.slug == slug)).first()
    if category is None:
        category = _moved_category(slug)
    return category


def _moved_category(slug: str) -> Category:
    """Return the category ``slug`` named before a rename, or abort with 404; a page
    asked for answers 301 with the same page at its URL, as ``_moved_item`` does."""
    row = db.session.execute(MOVED_CATEGORY, {"category_slug": canonical(slug)}).first()
    if row is None:
        abort(404, description=NO_CATEGORY)
    if request.method == "GET" and request.endpoint is not None:
        slugs = {**(request.view_args or {}), "category_slug": row.slug}
        _moved(url_for(request.endpoint, **slugs), NO_CATEGORY)
    category: Category = db.first_or_404(
        select(Category).where(Category.slug == row.slug), description=NO_CATEGORY
    )
    return category


def category_row(slug: str) -> AnyRow:
    """Return the category with ``slug`` as a row (id, name, slug, description, item_count).

    When none has it, answer 301 to the category it names in another case or named
    before a rename, or 404.
    """
    if not storable(slug):
        abort(404, description=NO_CATEGORY)
    row = db.session.execute(CATEGORY_BY_SLUG, {"slug": slug}).first()
    if row is None:
        _moved(moved_category_url(slug), NO_CATEGORY)
    return row


def get_item(category_slug: str, item_slug: str, check_owner: bool = False) -> Item:
    """Return the item with its category and owner loaded, or abort with 404.

    With ``check_owner``, abort with 403 unless the signed-in user may change the
    item (its owner or an admin); every edit and delete starts here.
    """
    if not storable(category_slug + item_slug):
        abort(404, description=NO_ITEM)
    found = db.session.scalars(_item(Category.slug == category_slug, Item.slug == item_slug))
    item: Item | None = found.first()
    if item is None:
        item = _moved_item(category_slug, item_slug)
    if check_owner and not can_change(g.user, item):
        abort(403, description="Only the person who added this item, or an admin, can change it.")
    return item


def _moved_item(category_slug: str, item_slug: str) -> Item:
    """Return the item the slugs named before a rename or a move, or abort with 404.

    A page asked for (GET) answers 301 with the same page at the item's URL; a form
    sent to the old URL (back and resubmit after a rename) acts on the item there.
    """
    moved = moved_item(category_slug, item_slug)
    if moved is None:
        abort(404, description=NO_ITEM)
    if request.method == "GET" and request.endpoint is not None:
        slugs = {"category_slug": moved[0], "item_slug": moved[1]}
        _moved(url_for(request.endpoint, **{**(request.view_args or {}), **slugs}), NO_ITEM)
    item: Item = db.first_or_404(
        _item(Category.slug == moved[0], Item.slug == moved[1]), description=NO_ITEM
    )
    return item


def item_row(category_slug: str, item_slug: str) -> AnyRow:
    """Return the item as a row of ``ITEM_COLUMNS``.

    When no item has these slugs, answer 301 to the one they name in another case or
    named before a rename or a move (of the item or of its category), or 404.
    """
    if not storable(category_slug + item_slug):
        abort(404, description=NO_ITEM)
    slugs = {"category_slug": category_slug, "item_slug": item_slug}
    row = db.session.execute(ITEM_BY_SLUGS, slugs).first()
    if row is None:
        _moved(moved_item_url(category_slug, item_slug), NO_ITEM)
    return row


def item_row_by_id(item_id: int) -> AnyRow:
    """Return item ``item_id`` as a row of ``ITEM_COLUMNS``, or abort with 404."""
    return _row_or_404(ITEM_BY_ID, {"item_id": item_id}, no_item(item_id))


def item_for_change(item_id: int) -> Item:
    """Return item ``item_id`` with its category and owner loaded, locked for this change, or 404.

    On PostgreSQL the row stays locked until the commit, so a concurrent change to
    the item waits here and then reads it as this one left it. (SQLite ignores
    FOR UPDATE: there a race shows as a stale version when the change is flushed.)
    """
    item: Item = db.first_or_404(
        _item(Item.id == item_id).with_for_update(of=Item), description=no_item(item_id)
    )
    return item


def get_token(owner: User, token_id: int) -> ApiToken:
    """Return ``owner``'s token ``token_id``, or abort with 404: others' tokens are not found."""
    token: ApiToken = db.first_or_404(
        select(ApiToken).where(ApiToken.id == token_id, ApiToken.owner_id == owner.id),
        description=NO_TOKEN,
    )
    return token
