"""The search statements: what the /search page and the API's ``q`` run, one statement a page.

What matches, and in which order the page lists it, is ``catalog.search``'s docstring.
This module says how each page is read, on PostgreSQL, in one statement whatever the
words, and why it is read so; what the plans cost, measured, is in bench/RESULTS.md
("Search plans").

The /search page:

- When any of the newest ``PROBE_ITEMS`` (2,000) items match, the recent items are walked
  down the primary key, newest first, until ``RANKED`` (100) matches (or the page's
  worth, if more) are found or the recent items run out: a common word stops after a few
  thousand rows, a rarer one reads at most ``RECENT_ITEMS`` (20,000).
- Otherwise, and for pages past what the walk found, matches are read through the GIN
  index: as many rows as the words match, few when none of the newest items has them.
  Common words get there only on deep pages, which then read all their older matches.

The walk is forced rather than left to the planner: PostgreSQL assumes that a word missing
from its statistics matches 0.5% of the items, and chose to walk all the items in id order
for a word that matches none.

The API (``api_query``) lists matches by id instead, a page after a cursor, in one
statement too, and just as bounded:

- The first ``PROBE_ITEMS`` items after the cursor are probed. When their matches say
  the page fills within the walk's reach, or they are all the items left, the items
  after the cursor are walked up the primary key until the page is full or the reach is
  read: a common word stops after a few hundred rows, at any depth.
- Otherwise, and past the reach when the walk fell short, matches are read through the GIN
  index: the words are then rare, with few matches to read.

The reach is the square root of ``WALK_SCALE`` times the rows a page wants, some 10,000
items for a page of 20. Reading a match through the index costs about as much as walking
five items, so walking that far costs about what the index does for a word just rare
enough to be sent there: a page costs at most about twice the cheaper of the two, and
far less for most words. Left to the planner, filtering by the words in id order walked
the primary key for words missing from its statistics, and reading every match through
the index, then sorting, read every match of a common word.

On SQLite the statements are the same, built once too, with FTS5 in place of the GIN
index: a match is an id among ``SELECT rowid FROM items_search WHERE items_search MATCH
:match``, which SQLite reads once per statement, as many rows as the words match; the
page's ranking asks the same of the names alone (``:name_match``).

With a category, the index is read together with the category's
(``uq_items_category_id_slug``), which costs more the larger the category: no index
lists a category's items in id order.
"""

import functools
import math
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    CTE,
    BindParameter,
    ColumnElement,
    FromClause,
    Integer,
    ScalarSelect,
    Select,
    SQLColumnExpression,
    String,
    Subquery,
    and_,
    bindparam,
    case,
    exists,
    func,
    literal,
    literal_column,
    not_,
    null,
    or_,
    select,
    union_all,
)

from catalog.extensions import db
from catalog.models import (
    ITEM_SEARCH_COLUMN,
    ITEM_SEARCH_CONFIG,
    ITEM_SEARCH_TABLE,
    ITEM_SEARCH_TABLE_NAME,
    ITEM_SEARCH_VECTOR,
    Item,
)
from catalog.search import syntax
from catalog.serialize import AnyRow, AnySelect, item_rows

# The longest search, in characters, on the page, in the API and in the search boxes.
QUERY_MAX = 200
# The reach of the ranking and of the walk; see the module's docstring.
RECENT_ITEMS = 20_000
RANKED = 100
PROBE_ITEMS = 2_000
# The API's walk reaches the square root of this times the rows a page wants; see above.
WALK_SCALE = 5_000_000
# The page counts the matches up to this many, and says "over" past it.
COUNT_MAX = 1_000
# Around the matched words of the names and passages the page shows. Control characters,
# which no stored text holds (catalog.text), so that text can never pass for one.
MARK_START, MARK_END = "\x02", "\x03"
# How many words of the description the page shows around the matched ones.
PASSAGE_WORDS = 30
_NAME_OPTIONS = f"StartSel={MARK_START}, StopSel={MARK_END}, HighlightAll=true"
_PASSAGE_OPTIONS = (
    f"StartSel={MARK_START}, StopSel={MARK_END}, MaxWords={PASSAGE_WORDS}, MinWords=15"
)


def _on_postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _tsquery(q: ColumnElement[str]) -> ColumnElement[Any]:
    return func.websearch_to_tsquery(ITEM_SEARCH_CONFIG, q)


def _number(name: str) -> BindParameter[int]:
    return bindparam(name, type_=Integer)


def _fts5_matches(parameter: str) -> Select[tuple[int]]:
    """Select the ids of the items the FTS5 expression ``parameter`` matches (SQLite)."""
    return select(ITEM_SEARCH_TABLE.c.rowid).where(
        literal_column(ITEM_SEARCH_TABLE_NAME).op("MATCH")(bindparam(parameter, type_=String))
    )


class _Terms:
    """What a search reads and computes, on PostgreSQL or on SQLite.

    ``rows`` is a subquery selecting ``columns()``, or None for the items table itself.
    The search is a parameter: ``q`` on PostgreSQL, ``match`` and ``name_match`` (FTS5
    expressions) on SQLite; ``search_params`` gives their values. With ``by_category``,
    only the items of the category ``category_id`` (a parameter) match.
    """

    def __init__(self, postgresql: bool, by_category: bool = False) -> None:
        self.postgresql = postgresql
        self.by_category = by_category
        if postgresql:
            # Computed once per statement: a parameter is not folded into a constant when
            # PostgreSQL reuses a generic plan, and parsing it for every row walked would
            # cost more than the walk.
            self.tsquery = select(_tsquery(bindparam("q", type_=String))).scalar_subquery()

    def columns(self) -> list[SQLColumnExpression[Any]]:
        """Return the columns of ``items`` that matching and scoring read."""
        read: list[SQLColumnExpression[Any]] = [Item.category_id] if self.by_category else []
        if self.postgresql:
            return [ITEM_SEARCH_VECTOR.label(ITEM_SEARCH_COLUMN), *read]
        return read

    def matches(self, rows: FromClause | None = None) -> ColumnElement[bool]:
        """Return a condition true for the rows that match."""
        if self.postgresql:
            vector = ITEM_SEARCH_VECTOR if rows is None else rows.c[ITEM_SEARCH_COLUMN]
            condition = vector.bool_op("@@")(self.tsquery)
        else:
            # SQLite runs a subquery that does not depend on the row once per statement.
            ids = Item.id if rows is None else rows.c.id
            condition = ids.in_(_fts5_matches("match"))
        if not self.by_category:
            return condition
        category_id = Item.category_id if rows is None else rows.c.category_id
        return and_(condition, category_id == _number("category_id"))

    def headlines(self) -> list[SQLColumnExpression[Any]]:
        """Return the item's name and a passage of its description, the matched words
        between ``MARK_START`` and ``MARK_END``, as ``name_marked`` and ``passage``."""
        if self.postgresql:
            return [
                func.ts_headline(ITEM_SEARCH_CONFIG, Item.name, self.tsquery, _NAME_OPTIONS).label(
                    "name_marked"
                ),
                func.ts_headline(
                    ITEM_SEARCH_CONFIG, Item.description, self.tsquery, _PASSAGE_OPTIONS
                ).label("passage"),
            ]
        search: ColumnElement[Any] = literal_column(ITEM_SEARCH_TABLE_NAME)
        start, end = literal(MARK_START), literal(MARK_END)

        def of_this_item(marked: ColumnElement[str], label: str) -> SQLColumnExpression[Any]:
            return (
                select(marked)
                .select_from(ITEM_SEARCH_TABLE)
                .where(
                    search.op("MATCH")(bindparam("match", type_=String)),
                    ITEM_SEARCH_TABLE.c.rowid == Item.id,
                )
                .scalar_subquery()
                .label(label)
            )

        return [
            of_this_item(func.highlight(search, 0, start, end), "name_marked"),
            of_this_item(
                func.snippet(search, 1, start, end, literal("…"), PASSAGE_WORDS), "passage"
            ),
        ]

    def counted(self) -> ScalarSelect[int]:
        """Return how many items match, up to ``count_limit`` (a parameter)."""
        matched = (
            select(Item.id).where(self.matches()).limit(_number("count_limit")).subquery("counted")
        )
        return select(func.count()).select_from(matched).scalar_subquery()

    def score(self, rows: FromClause) -> ColumnElement[Any]:
        """Return how well a matching row of ``rows`` matches, higher is better."""
        if self.postgresql:
            return func.ts_rank(rows.c[ITEM_SEARCH_COLUMN], self.tsquery)
        # Items whose name holds every word first.
        return case((rows.c.id.in_(_fts5_matches("name_match")), 1), else_=0)


def search_params(q: str) -> dict[str, str]:
    """Return the parameters that put the search ``q`` into a statement of this module."""
    alternatives = syntax.parse(q)
    if _on_postgresql():
        return {"q": syntax.websearch(alternatives)}
    return {
        "match": syntax.fts5(alternatives),
        "name_match": syntax.fts5(alternatives, column="name"),
    }


def _newest(
    terms: _Terms, limit: BindParameter[int], name: str, *where: ColumnElement[bool]
) -> Subquery:
    """Select ``terms.columns()`` of the newest items, newest first.

    The LIMIT keeps a match on the result from being pushed inside, so reading this
    is a walk down the primary key that stops as soon as the reader has enough.
    """
    return (
        select(Item.id, *terms.columns())
        .where(*where)
        .order_by(Item.id.desc())
        .limit(limit)
        .subquery(name)
    )


def _page_matches(terms: _Terms, floor: ColumnElement[int]) -> tuple[ScalarSelect[bool], CTE, CTE]:
    """Return how the page finds its matches: whether it walks, what the walk found, and
    every match through the index, which is read only when the walk is not enough.
    """
    probed = _newest(terms, _number("probe_items"), "probed")
    probe = select(exists(select(probed.c.id).where(terms.matches(probed))).label("found")).cte(
        "probe"
    )
    walking = select(probe.c.found).scalar_subquery()
    recent = _newest(terms, _number("recent_items"), "recent", Item.id > floor)
    walked = (
        select(recent)
        .where(walking, terms.matches(recent))
        .order_by(recent.c.id.desc())
        .limit(_number("collected"))
        .cte("walked")
    )
    # When not walking, or when the walk went through every recent item and found fewer
    # than the page needs: every match, through the index. Materialized, so that the
    # planner cannot turn the LIMIT on the older ones below into a walk down the rest.
    every = (
        select(Item.id, *terms.columns())
        .where(
            or_(
                not_(walking),
                select(func.count()).select_from(walked).scalar_subquery() < _number("wanted"),
            ),
            terms.matches(),
        )
        .cte("every")
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )
    return walking, walked, every


def _statement(terms: _Terms) -> AnySelect:
    """Return the search for ``terms``; the numbers are parameters, see ``search_query``."""
    # Items above this id are the recent ones.
    floor = select(func.max(Item.id)).scalar_subquery() - _number("recent_items")
    walking, walked, every = _page_matches(terms, floor)
    # The recent matches, however found; the newest of them are ranked.
    recent_matches = union_all(
        select(walked),
        select(every).where(not_(walking), every.c.id > floor),
    ).subquery("recent_matches")
    ranking = (
        select(recent_matches)
        .order_by(recent_matches.c.id.desc())
        .limit(_number("collected"))
        .subquery("ranking")
    )
    position = func.row_number().over(order_by=ranking.c.id.desc())
    score = case((position <= _number("ranked"), terms.score(ranking)), else_=null())
    older = (
        select(every.c.id)
        .where(every.c.id <= floor)
        .order_by(every.c.id.desc())
        .limit(_number("wanted"))
        .subquery("older")
    )
    found = union_all(
        select(ranking.c.id, score.label("score")),
        select(older.c.id, null().label("score")),
    ).subquery("found")
    best_first = (found.c.score.desc().nulls_last(), found.c.id.desc())
    shown = (
        select(found)
        .order_by(*best_first)
        .limit(_number("shown"))
        .offset(_number("offset"))
        .subquery("shown")
    )
    # The headlines are made for the rows shown alone; the count, a scalar subquery
    # that depends on no row, once.
    return (
        item_rows()
        .add_columns(*terms.headlines(), terms.counted().label("total"))
        .join(shown, shown.c.id == Item.id)
        .order_by(shown.c.score.desc().nulls_last(), shown.c.id.desc())
    )


@functools.cache
def _page_statement(postgresql: bool, by_category: bool) -> AnySelect:
    # Built once: putting this statement together costs more than running it.
    return _statement(_Terms(postgresql, by_category))


def search_query(
    q: str, page: int, per_page: int, category_id: int | None = None
) -> tuple[AnySelect, dict[str, Any]]:
    """Return the query for page ``page`` of items matching ``q``, best first, plus one more.

    In ``category_id`` only if given. Each row has the columns of ``item_rows``, then
    ``name_marked`` and ``passage`` (the matched words between ``MARK_START`` and
    ``MARK_END``), and ``total``, the number of matches up to ``COUNT_MAX`` + 1.
    Returns the statement and the parameters to execute it with.
    """
    offset = (page - 1) * per_page
    wanted = offset + per_page + 1
    by_category = category_id is not None
    statement = _page_statement(_on_postgresql(), by_category)
    params: dict[str, Any] = search_params(q)
    if by_category:
        params["category_id"] = category_id
    numbers: dict[str, Any] = {
        "recent_items": RECENT_ITEMS,
        "probe_items": PROBE_ITEMS,
        "ranked": RANKED,
        "collected": max(RANKED, wanted),
        "wanted": wanted,
        "shown": per_page + 1,
        "offset": offset,
        "count_limit": COUNT_MAX + 1,
    }
    return statement, params | numbers


def search_page(
    q: str, page: int, per_page: int, category_id: int | None = None
) -> tuple[Sequence[AnyRow], bool, int | None]:
    """Return one page of items matching ``q``, best first, whether more follow, and how
    many items match (up to ``COUNT_MAX`` + 1; None when the page is past the last)."""
    rows = db.session.execute(*search_query(q, page, per_page, category_id)).all()
    total = rows[0].total if rows else (0 if page == 1 else None)
    return rows[:per_page], len(rows) > per_page, total


class _ApiPage:
    """The parts of the API's search for ``terms``, in one category if ``by_category``.

    The values are parameters, see ``api_query``.
    """

    def __init__(self, terms: _Terms, by_category: bool) -> None:
        self.terms = terms
        self.by_category = by_category
        self.after, self.wanted = _number("after"), _number("wanted")
        self.probe_items, self.walk_items = _number("probe_items"), _number("walk_items")
        self.extra: list[SQLColumnExpression[Any]] = [Item.category_id] if by_category else []

    def listed(self, rows: FromClause | None = None) -> list[ColumnElement[bool]]:
        """Return the conditions on the rows of ``rows`` (or of ``items``) the page lists."""
        conditions = [self.terms.matches(rows)]
        if self.by_category:
            category_id = Item.category_id if rows is None else rows.c.category_id
            conditions.append(category_id == _number("category_id"))
        return conditions

    def first(self, limit: BindParameter[int], name: str) -> Subquery:
        """Select what matching reads of the first ``limit`` items after the cursor.

        The LIMIT keeps a match from being pushed inside, so reading this is a walk up the
        primary key that stops as soon as the reader has enough.
        """
        return (
            select(Item.id, *self.terms.columns(), *self.extra)
            .where(Item.id > self.after)
            .order_by(Item.id)
            .limit(limit)
            .subquery(name)
        )

    def nth_after(self, n: BindParameter[int]) -> ScalarSelect[int]:
        """Return the id of the ``n``th item after the cursor, NULL when there are fewer."""
        return (
            select(Item.id)
            .where(Item.id > self.after)
            .order_by(Item.id)
            .offset(n - 1)
            .limit(1)
            .scalar_subquery()
        )

    def walk(self) -> tuple[ScalarSelect[bool], CTE]:
        """Return whether the page walks, and what the walk finds."""
        probed = self.first(self.probe_items, "probed")
        hits = (
            select(func.count())
            .select_from(
                select(probed.c.id).where(*self.listed(probed)).limit(self.wanted).subquery("hits")
            )
            .scalar_subquery()
        )
        # Walk when the probe's matches say the page fills within the walk, and when the
        # probe read every item left, whatever it found.
        plan = select(
            or_(
                hits * self.walk_items >= self.wanted * self.probe_items,
                self.nth_after(self.probe_items).is_(None),
            ).label("walking")
        ).cte("plan")
        walking = select(plan.c.walking).scalar_subquery()
        walk = self.first(self.walk_items, "walk")
        walked = (
            select(walk.c.id)
            .where(walking, *self.listed(walk))
            .order_by(walk.c.id)
            .limit(self.wanted)
            .cte("walked")
        )
        return walking, walked

    def beyond(self, walking: ScalarSelect[bool], walked: CTE) -> Subquery:
        """Return the matches the index finds where the walk stops, when the page needs them."""
        # Where the index takes over: after the last item the walk reads when it reads them
        # all, or none when fewer follow (the walk then saw every one); after the cursor
        # when not walking.
        boundary = select(
            case((walking, self.nth_after(self.walk_items)), else_=self.after).label("id")
        ).cte("boundary")
        beyond = select(boundary.c.id).scalar_subquery()
        needed = and_(
            select(func.count()).select_from(walked).scalar_subquery() < self.wanted,
            beyond.is_not(None),
        )
        # Read only when needed, through the indexes: materialized, and the boundary applied
        # outside, so that the planner can neither walk the primary key for these rows nor
        # intersect them with a range of it.
        indexed = (
            select(Item.id)
            .where(needed, *self.listed())
            .cte("indexed")
            .prefix_with("MATERIALIZED", dialect="postgresql")
        )
        return (
            select(indexed.c.id)
            .where(indexed.c.id > beyond)
            .order_by(indexed.c.id)
            .limit(self.wanted)
            .subquery("later")
        )

    def statement(self) -> AnySelect:
        """Return the whole statement: the walk's matches, then the index's, in id order."""
        walking, walked = self.walk()
        later = self.beyond(walking, walked)
        found = union_all(select(walked.c.id), select(later.c.id)).subquery("found")
        return (
            item_rows().join(found, found.c.id == Item.id).order_by(found.c.id).limit(self.wanted)
        )


def _api_statement(terms: _Terms, by_category: bool) -> AnySelect:
    """Return the API's search for ``terms``; the values are parameters, see ``api_query``."""
    return _ApiPage(terms, by_category).statement()


@functools.cache
def _api_statement_of(postgresql: bool, by_category: bool) -> AnySelect:
    # Built once, as the page's statement is.
    return _api_statement(_Terms(postgresql), by_category)


def api_query(
    q: str, after: int, count: int, category_id: int | None = None
) -> tuple[AnySelect, dict[str, Any]]:
    """Return the query for the first ``count`` items matching ``q`` with ids above ``after``.

    In id order, in ``category_id`` only if given. Returns the statement and the
    parameters to execute it with.
    """
    by_category = category_id is not None
    statement = _api_statement_of(_on_postgresql(), by_category)
    params: dict[str, Any] = search_params(q)
    params |= {
        "after": after,
        "wanted": count,
        "probe_items": PROBE_ITEMS,
        # At least the probe's reach, so that a page the probe fills is walked.
        "walk_items": max(PROBE_ITEMS, math.isqrt(count * WALK_SCALE)),
    }
    if by_category:
        params["category_id"] = category_id
    return statement, params
