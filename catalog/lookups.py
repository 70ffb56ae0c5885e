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

from typing import Any

from flask import abort, g
from sqlalchemy import ColumnElement, Select, bindparam, select
from sqlalchemy.orm import contains_eager

from catalog.changes import can_change
from catalog.extensions import db
from catalog.models import ApiToken, Category, Item, User
from catalog.serialize import AnyRow, AnySelect, item_rows
from catalog.text import storable

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
    """Return the category with ``slug`` or abort with 404."""
    if not storable(slug):
        abort(404, description=NO_CATEGORY)
    category: Category = db.first_or_404(
        select(Category).where(Category.slug == slug), description=NO_CATEGORY
    )
    return category


def category_row(slug: str) -> AnyRow:
    """Return the category with ``slug`` as a row (id, name, slug, description, item_count)."""
    if not storable(slug):
        abort(404, description=NO_CATEGORY)
    return _row_or_404(CATEGORY_BY_SLUG, {"slug": slug}, NO_CATEGORY)


def get_item(category_slug: str, item_slug: str, check_owner: bool = False) -> Item:
    """Return the item with its category and owner loaded, or abort with 404.

    With ``check_owner``, abort with 403 unless the signed-in user may change the
    item (its owner or an admin); every edit and delete starts here.
    """
    if not storable(category_slug + item_slug):
        abort(404, description=NO_ITEM)
    item: Item = db.first_or_404(
        _item(Category.slug == category_slug, Item.slug == item_slug), description=NO_ITEM
    )
    if check_owner and not can_change(g.user, item):
        abort(403, description="Only the person who added this item, or an admin, can change it.")
    return item


def item_row(category_slug: str, item_slug: str) -> AnyRow:
    """Return the item as a row of ``ITEM_COLUMNS``, or abort with 404."""
    if not storable(category_slug + item_slug):
        abort(404, description=NO_ITEM)
    slugs = {"category_slug": category_slug, "item_slug": item_slug}
    return _row_or_404(ITEM_BY_SLUGS, slugs, NO_ITEM)


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
