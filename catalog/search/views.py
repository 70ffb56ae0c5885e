"""The /search page: items matching the words, best matches first, a page at a time."""

import re

from flask import Blueprint, Response, abort, current_app, render_template, request
from markupsafe import Markup, escape
from sqlalchemy import select

from catalog.extensions import db
from catalog.links import Links
from catalog.models import Category
from catalog.search.statements import COUNT_MAX, MARK_END, MARK_START, QUERY_MAX, search_page
from catalog.text import without_controls
from catalog.web.caching import revalidate, validated
from catalog.web.connections import read_only

bp = Blueprint("search", __name__)

PAGES_MAX = 100
# Built once, as the other pages' statements are: the categories of the filter.
CATEGORIES = select(Category.id, Category.name, Category.slug).order_by(Category.name)
_MARKS = re.compile(f"([{MARK_START}{MARK_END}])")
_OPEN, _CLOSE = Markup("<mark>"), Markup("</mark>")


def highlighted(marked: str) -> Markup:
    """Return ``marked`` as HTML, escaped, with its matched words in ``<mark>``.

    Only the marks become tags, always paired; everything else is text.
    """
    html: list[Markup] = []
    inside = False
    for part in _MARKS.split(marked):
        if part in (MARK_START, MARK_END):
            if (part == MARK_START) != inside:
                html.append(_CLOSE if inside else _OPEN)
                inside = not inside
        else:
            html.append(escape(part))
    if inside:
        html.append(_CLOSE)
    return Markup("").join(html)


def count_text(total: int) -> str:
    """Return how many items match, in words: exact up to ``COUNT_MAX``, "over" past it."""
    if total > COUNT_MAX:
        return f"Over {COUNT_MAX:,} items match"
    return f"{total:,} item{'' if total == 1 else 's'} match{'es' if total == 1 else ''}"


@bp.get("/search")
@read_only
@validated(deferred=True)
def search() -> str | Response:
    """Show the items matching ``q``, best matches first, a page at a time."""
    # PostgreSQL refuses NUL in text, and no control character helps a search.
    q = without_controls(request.args.get("q", "")).strip()
    if len(q) > QUERY_MAX:
        abort(400, description=f"Search for at most {QUERY_MAX} characters.")
    page = request.args.get("page", 1, type=int)
    if not 1 <= page <= PAGES_MAX:
        abort(400, description=f"Pages of results go from 1 to {PAGES_MAX}.")
    # The validator first: a 304 costs the marker alone, not the categories' query.
    early = revalidate()
    if early is not None:
        return early
    categories = db.session.execute(CATEGORIES).all()
    category_slug = request.args.get("category", "")
    chosen = next((c for c in categories if c.slug == category_slug), None)
    if category_slug and chosen is None:
        abort(400, description="There is no such category; choose one from the list.")
    rows, more, total = (
        search_page(q, page, current_app.config["ITEMS_PER_PAGE"], chosen.id if chosen else None)
        if q
        else ([], False, None)
    )
    links = Links(external=False)
    kept = {"q": q, **({"category": chosen.slug} if chosen else {})}
    return render_template(
        "search/results.html",
        q=q,
        categories=categories,
        chosen=chosen,
        kept=kept,
        count=count_text(total) if total else None,
        rows=[
            (row, links.thumbnail(row), highlighted(row.name_marked), highlighted(row.passage))
            for row in rows
        ],
        page=page,
        previous_page=page - 1 if page > 1 else None,
        next_page=page + 1 if more and page < PAGES_MAX else None,
    )
