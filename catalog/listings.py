"""Pages of items by keyset: a category's in one of three orders, and one user's.

Every page is one statement on an index that lists the items in the page's order: a
category's by name on (category_id, slug), newest first on (category_id, created, id),
by latest change on (category_id, updated, id); a user's newest first on (owner_id, id).
A page after (or before) another starts from the last (or first) item of that one: its
slug for the name order, its id otherwise, the id's own date read by the same
statement. So a page deep in a large category costs what the first one does, and the
statements, built once, are parameters all through.
"""

import functools
from dataclasses import dataclass
from typing import Any, Literal

from flask import current_app, url_for
from sqlalchemy import (
    ColumnElement,
    Integer,
    SQLColumnExpression,
    String,
    bindparam,
    func,
    select,
    tuple_,
)
from sqlalchemy.orm import aliased

from catalog.extensions import db
from catalog.links import Links
from catalog.models import Category, Image, Item
from catalog.serialize import AnyRow, AnySelect

# The orders of a category's page, by ``?sort=``; the first is the default.
SORTS = {"name": "Name", "newest": "Newest", "updated": "Recently updated"}
DEFAULT_SORT = "name"
# How much of a description a list reads: it shows one line of it.
SUMMARY_MAX = 200

Direction = Literal["first", "after", "before"]

_COLUMNS = (
    Item.id,
    Item.name,
    Item.slug,
    func.substr(Item.description, 1, SUMMARY_MAX).label("summary"),
    Item.created,
    Item.updated,
    Item.image_sha256,
    Image.width.label("image_width"),
    Image.height.label("image_height"),
)
_CURSOR = aliased(Item, name="cursor")


@dataclass(frozen=True)
class Page:
    """One page of rows, in the page's order, and whether pages come before and after it."""

    rows: list[AnyRow]
    has_previous: bool
    has_next: bool


def _keyset(
    listed: AnySelect,
    keys: tuple[SQLColumnExpression[Any], ...],
    cursor: ColumnElement[Any],
    direction: Direction,
) -> AnySelect:
    """Return the first page of ``listed`` in descending ``keys`` order, or the page after
    or before ``cursor``, their values for the item the page starts from."""
    row = tuple_(*keys) if len(keys) > 1 else keys[0]
    if direction == "first":
        return listed.order_by(*(key.desc() for key in keys))
    if direction == "after":
        return listed.where(row < cursor).order_by(*(key.desc() for key in keys))
    return listed.where(row > cursor).order_by(*keys)


def _cursor_of(key: SQLColumnExpression[Any], name: str) -> ColumnElement[Any]:
    """Return the row value (key, id) of the item whose id is the parameter ``name``."""
    value = select(key).where(_CURSOR.id == bindparam(name, type_=Integer)).scalar_subquery()
    return tuple_(value, bindparam(name, type_=Integer))


@functools.cache
def category_statement(sort: str, direction: Direction) -> AnySelect:
    """Return the statement of a page of the category ``category_id`` in ``sort`` order.

    Its parameters: ``category_id``, ``rows``, and ``after`` or ``before``, a slug for
    the name order and an item id for the others.
    """
    listed = (
        select(*_COLUMNS)
        .outerjoin(Item.image)
        .where(Item.category_id == bindparam("category_id"))
        .limit(bindparam("rows"))
    )
    if sort == "name":
        # Ascending, unlike the others: the page after a slug holds the greater ones.
        slug_after = bindparam("after", type_=String)
        slug_before = bindparam("before", type_=String)
        statements: dict[Direction, AnySelect] = {
            "first": listed.order_by(Item.slug),
            "after": listed.where(Item.slug > slug_after).order_by(Item.slug),
            "before": listed.where(Item.slug < slug_before).order_by(Item.slug.desc()),
        }
        return statements[direction]
    key = Item.created if sort == "newest" else Item.updated
    cursor_key = _CURSOR.created if sort == "newest" else _CURSOR.updated
    cursor = _cursor_of(cursor_key, "before" if direction == "before" else "after")
    return _keyset(listed, (key, Item.id), cursor, direction)


@functools.cache
def owner_statement(direction: Direction) -> AnySelect:
    """Return the statement of a page of the items of the user ``owner_id``, newest first.

    Its parameters: ``owner_id``, ``rows``, and ``after`` or ``before``, an item id.
    """
    listed = (
        select(
            *_COLUMNS,
            Category.slug.label("category_slug"),
            Category.name.label("category_name"),
        )
        .join(Item.category)
        .outerjoin(Item.image)
        .where(Item.owner_id == bindparam("owner_id"))
        .limit(bindparam("rows"))
    )
    cursor = bindparam("before" if direction == "before" else "after", type_=Integer)
    return _keyset(listed, (Item.id,), cursor, direction)


def read_page(
    statement_of: Any,
    params: dict[str, Any],
    per_page: int,
    after: Any = None,
    before: Any = None,
) -> Page:
    """Return the page after ``after``, before ``before``, or else the first one.

    ``statement_of(direction)`` gives the statement, run with ``params``; one query.
    """
    if before is not None:
        direction: Direction = "before"
        bound = {"before": before}
    elif after is not None:
        direction, bound = "after", {"after": after}
    else:
        direction, bound = "first", {}
    rows = list(
        db.session.execute(statement_of(direction), {**params, **bound, "rows": per_page + 1})
    )
    more = len(rows) > per_page
    rows = rows[:per_page]
    if before is not None:
        rows.reverse()
        return Page(rows, has_previous=more, has_next=True)
    return Page(rows, has_previous=after is not None, has_next=more)


def one_line(summary: str) -> str:
    """Return the first line of a description, for a list."""
    return summary.split("\n", 1)[0].strip()


def owner_page(owner_id: int, after: int | None, before: int | None) -> dict[str, Any]:
    """Return what a list of ``owner_id``'s items shows, newest first: the rows with their
    links made, and the links to the pages before and after. One query."""
    page = read_page(
        owner_statement,
        {"owner_id": owner_id},
        current_app.config["ITEMS_PER_PAGE"],
        after=after,
        before=before,
    )
    links = Links(external=False)
    rows = page.rows
    return {
        "items": [
            (
                row.name,
                links.item_url(row.category_slug, row.slug),
                links.thumbnail(row),
                one_line(row.summary),
                row.created,
                row.category_name,
                links.category_url(row.category_slug),
            )
            for row in rows
        ],
        "previous_url": url_for("catalog.owner", user_id=owner_id, before=rows[0].id)
        if rows and page.has_previous
        else None,
        "next_url": url_for("catalog.owner", user_id=owner_id, after=rows[-1].id)
        if rows and page.has_next
        else None,
    }
