"""The /search page: items matching the words, best matches first, a page at a time."""

from collections.abc import Sequence

from flask import Blueprint, abort, current_app, render_template, request

from catalog.links import Links
from catalog.search.statements import QUERY_MAX, search_page
from catalog.serialize import AnyRow
from catalog.text import without_controls
from catalog.web.caching import revalidate, validated
from catalog.web.connections import read_only

bp = Blueprint("search", __name__)

PAGES_MAX = 100


@bp.get("/search")
@read_only
@validated(deferred=True)
def search() -> str:
    """Show the items matching ``q``, best matches first, a page at a time."""
    # PostgreSQL refuses NUL in text, and no control character helps a search.
    q = without_controls(request.args.get("q", "")).strip()
    if len(q) > QUERY_MAX:
        abort(400, description=f"Search for at most {QUERY_MAX} characters.")
    page = request.args.get("page", 1, type=int)
    if not 1 <= page <= PAGES_MAX:
        abort(400, description=f"Pages of results go from 1 to {PAGES_MAX}.")
    rows: Sequence[AnyRow] = []
    more = False
    if q:
        revalidate()
        rows, more = search_page(q, page, current_app.config["ITEMS_PER_PAGE"])
    links = Links(external=False)
    return render_template(
        "search/results.html",
        q=q,
        rows=[(row, links.thumbnail(row)) for row in rows],
        page=page,
        previous_page=page - 1 if page > 1 else None,
        next_page=page + 1 if more and page < PAGES_MAX else None,
    )
