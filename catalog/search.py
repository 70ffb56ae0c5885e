"""Full-text search over item names and descriptions: the /search page and the API's ``q``.

PostgreSQL matches ``websearch_to_tsquery`` (quotes, ``or``, ``-word``) against the
English tsvector that the GIN index ``ix_items_search`` holds, and ranks with
``ts_rank``. SQLite has no such index; there every word must appear in the name or
the description (LIKE, case-insensitive for ASCII), and name matches rank first.
"""

import re

from flask import Blueprint, abort, current_app, render_template, request
from sqlalchemy import ColumnElement, Select, and_, case, func, literal, or_

from catalog.extensions import db
from catalog.models import ITEM_SEARCH_CONFIG, ITEM_SEARCH_VECTOR, Item
from catalog.serialize import item_rows

bp = Blueprint("search", __name__)

QUERY_MAX = 200
PAGES_MAX = 100
_WORD = re.compile(r"\w+")
# PostgreSQL refuses NUL in text, and no control character helps a search.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def _on_postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _tsquery(q: str):
    return func.websearch_to_tsquery(ITEM_SEARCH_CONFIG, q)


def _like(word: str) -> str:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def matches(q: str) -> ColumnElement[bool]:
    """Return a condition true for items whose name or description match ``q``."""
    if _on_postgresql():
        return ITEM_SEARCH_VECTOR.bool_op("@@")(_tsquery(q))
    words = _WORD.findall(q)
    if not words:
        return literal(False)
    return and_(
        *(
            or_(
                Item.name.ilike(_like(word), escape="\\"),
                Item.description.ilike(_like(word), escape="\\"),
            )
            for word in words
        )
    )


def rank(q: str) -> ColumnElement:
    """Return an expression ordering better matches of ``q`` first (higher is better)."""
    if _on_postgresql():
        return func.ts_rank(ITEM_SEARCH_VECTOR, _tsquery(q))
    words = _WORD.findall(q) or [""]
    in_name = and_(*(Item.name.ilike(_like(word), escape="\\") for word in words))
    return case((in_name, 1), else_=0)


def search_query(q: str, page: int, per_page: int) -> Select:
    """Return the query for page ``page`` of items matching ``q``, best first, plus one more."""
    return (
        item_rows()
        .where(matches(q))
        .order_by(rank(q).desc(), Item.id.desc())
        .limit(per_page + 1)
        .offset((page - 1) * per_page)
    )


def search_page(q: str, page: int, per_page: int) -> tuple[list, bool]:
    """Return one page of items matching ``q``, best first, and whether more follow."""
    rows = db.session.execute(search_query(q, page, per_page)).all()
    return rows[:per_page], len(rows) > per_page


@bp.get("/search")
def search():
    """Show the items matching ``q``, best matches first, a page at a time."""
    q = _CONTROL.sub(" ", request.args.get("q", "")).strip()
    if len(q) > QUERY_MAX:
        abort(400, description=f"Search for at most {QUERY_MAX} characters.")
    page = request.args.get("page", 1, type=int)
    if not 1 <= page <= PAGES_MAX:
        abort(400, description=f"Pages of results go from 1 to {PAGES_MAX}.")
    rows, more = search_page(q, page, current_app.config["ITEMS_PER_PAGE"]) if q else ([], False)
    return render_template(
        "search/results.html",
        q=q,
        rows=rows,
        page=page,
        previous_page=page - 1 if page > 1 else None,
        next_page=page + 1 if more and page < PAGES_MAX else None,
    )
