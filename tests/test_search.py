"""Search by words in names and descriptions: the /search page, on SQLite and PostgreSQL."""

import re
from urllib.parse import urlencode

import pytest
from sqlalchemy import event, select
from support.api_data import seed_api_catalog

from catalog.api.cursors import encode_cursor
from catalog.changes import add_category, add_item, change_item
from catalog.extensions import db
from catalog.models import Item, User
from catalog.search import api_query, search_query
from catalog.seed import seed_synthetic


@pytest.fixture
def gear(app):
    """A camping category with lamps and torches, on top of the API's small catalog."""
    seed_api_catalog(app)
    with app.app_context():
        owner = db.session.get(User, 1)
        camping = add_category("Camping")
        add_item(owner, camping, "Torch", "A bright lamp for the tent, with a red mode.")
        add_item(owner, camping, "Table Lamp", "Folding, for the campsite table.")
        add_item(owner, camping, "Stove", "Two burners; packs into its own pot.")
        db.session.commit()


def names(page: str) -> list[str]:
    """Return the names of the items a results page lists, without their marked words."""
    found = re.findall(r'<span class="name">(.+?)</span></a>\s*<span class="meta">in ', page)
    return [re.sub(r"</?mark>", "", name) for name in found]


def test_finds_words_in_names(client, gear):
    page = client.get("/search?q=stove").get_data(as_text=True)
    assert names(page) == ["Stove"]


def test_finds_words_in_descriptions(client, gear):
    page = client.get("/search?q=burners").get_data(as_text=True)
    assert names(page) == ["Stove"]
    assert "packs into its own pot" in page


def test_every_word_must_match(client, gear):
    assert names(client.get("/search?q=lamp red").get_data(as_text=True)) == ["Torch"]


def test_is_case_insensitive(client, gear):
    assert names(client.get("/search?q=STOVE").get_data(as_text=True)) == ["Stove"]


def test_matches_in_the_name_rank_first(client, gear):
    page = client.get("/search?q=lamp").get_data(as_text=True)
    assert names(page) == ["Table Lamp", "Torch"]


def test_no_match_says_so(client, gear):
    page = client.get("/search?q=kayak").get_data(as_text=True)
    assert "No items match “kayak”" in page


def test_empty_query_shows_just_the_form(client, gear):
    response = client.get("/search")
    assert response.status_code == 200
    assert 'name="q"' in response.get_data(as_text=True)
    assert names(response.get_data(as_text=True)) == []


def test_results_are_paginated(app, client, gear):
    app.config["ITEMS_PER_PAGE"] = 2
    with app.app_context():
        seed_synthetic(5)  # "Synthetic item N of batch …, for scale testing."
    first = client.get("/search?q=synthetic").get_data(as_text=True)
    assert len(names(first)) == 2
    assert 'rel="next" href="/search?q=synthetic&amp;page=2"' in first
    seen = names(first)
    page = 2
    while True:
        html = client.get(f"/search?q=synthetic&page={page}").get_data(as_text=True)
        seen += names(html)
        if 'rel="next"' not in html:
            break
        page += 1
    assert len(seen) == len(set(seen)) == 5
    assert 'rel="prev"' in html


@pytest.mark.backend_independent
@pytest.mark.parametrize("query", ["q=x&page=0", "q=x&page=101", "q=" + "x" * 201])
def test_bad_requests_are_400(client, gear, query):
    assert client.get(f"/search?{query}").status_code == 400


def test_header_has_the_search_box(client, gear):
    page = client.get("/").get_data(as_text=True)
    assert re.search(r'<form role="search" method="get" action="/search">', page)
    assert '<label class="visually-hidden" for="site-search">Search items</label>' in page
    assert 'id="site-search" name="q" placeholder="Search items" maxlength="200">' in page
    # The search page keeps the words in its own box, the only one it shows.
    kept = client.get("/search?q=stove").get_data(as_text=True)
    assert 'id="site-search"' not in kept
    assert 'id="search-page-q" name="q" value="stove"' in kept


@pytest.mark.parametrize("query", ["q=lamp", "q=lamp&category=camping", "q=lamp&page=3", "q="])
def test_search_page_costs_the_marker_and_two_queries(client, gear, count_queries, query):
    """The change marker (its ETag), the categories of the filter, then the page's items."""
    with count_queries() as queries:
        assert client.get(f"/search?{query}").status_code == 200
    assert len(queries) == (3 if "lamp" in query else 2), queries


def test_search_page_reads_without_a_transaction(app, client, gear, backend_name):
    if backend_name != "postgresql":
        pytest.skip("SQLite has no round trips to save")
    seen = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(conn.connection.dbapi_connection.autocommit)

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", record)
    try:
        assert client.get("/search?q=lamp").status_code == 200
    finally:
        with app.app_context():
            event.remove(db.engine, "before_cursor_execute", record)
    # The change marker (the page's ETag), the categories of the filter, then the search.
    assert seen == [True, True, True]


def _plan(connection, statement, params) -> str:
    compiled = statement.compile(dialect=connection.dialect)
    values = {**compiled.params, **params}
    rows = connection.exec_driver_sql(f"EXPLAIN {compiled}", values)
    return "\n".join(row[0] for row in rows)


def test_postgresql_plans_use_the_gin_index(app, backend_name):
    if backend_name != "postgresql":
        pytest.skip("the full-text index exists on PostgreSQL only")
    seed_api_catalog(app)
    with app.app_context():
        seed_synthetic(5000)
        connection = db.session.connection()
        connection.exec_driver_sql("ANALYZE items")
        # The planner may still prefer a scan on a table this small; the point is that
        # the queries name the indexed column, so that they can use the index at all.
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        page = _plan(connection, *search_query("synthetic 42", 1, 20))
        api = _plan(connection, *api_query("synthetic 42", 0, 21))
        db.session.rollback()
    assert "ix_items_search_vector" in page, page
    assert "ix_items_search_vector" in api, api


@pytest.fixture
def backend_name(app):
    with app.app_context():
        return db.engine.dialect.name


def test_operators_typed_are_words(client, gear):
    """FTS5's operators and wildcards in a query are words, not syntax, on both databases."""
    for q in ["%", "_", "stove*", "stove AND", "NEAR(stove)", "description:burners"]:
        expected = [] if q in ("%", "_", "NEAR(stove)", "description:burners") else ["Stove"]
        assert names(client.get("/search", query_string={"q": q}).get_data(as_text=True)) == (
            expected
        ), q


def test_search_forgets_deleted_items(app, client, lamps):
    with app.app_context():
        stove = db.session.scalars(select(Item).where(Item.name == "Stove")).one()
        db.session.delete(stove)
        db.session.commit()
    assert names(client.get("/search?q=burners").get_data(as_text=True)) == []


def test_api_q_uses_the_same_search(client, gear):
    items = client.get("/api/v1/items?q=burners").get_json()["items"]
    assert [i["name"] for i in items] == ["Stove"]


@pytest.mark.parametrize("query", ["the", "-", '"', "or", "!:*&|", "\x00stove", "lamp\x07"])
def test_odd_queries_are_answered(client, gear, query):
    assert client.get("/search", query_string={"q": query}).status_code == 200


@pytest.fixture
def lamps(app):
    """Items matching "lamp", oldest first, by name or only by description; a stove last."""
    with app.app_context():
        owner = User(issuer="https://issuer.example", subject="1", email="o@example.com", name="O")
        db.session.add(owner)
        camping = add_category("Camping")
        for name, description in [
            ("Lamp", "Old, found by its name alone."),
            ("Torch", "A lamp that fits a pocket."),
            ("Lantern", "Like a lamp, for the camp."),
            ("Desk Lamp", "Bright."),
            ("Head Torch", "A lamp on a strap."),
            ("Bike Light", "A small lamp for the handlebars."),
            ("Stove", "Two burners."),
        ]:
            add_item(owner, camping, name, description)
        db.session.commit()


# With the three newest matches among the five newest items ranked: the name match first,
# then the other two newest first; then the older matches, newest first, the name match
# "Lamp" among them.
LAMPS_IN_ORDER = ["Desk Lamp", "Bike Light", "Head Torch", "Lantern", "Torch", "Lamp"]


@pytest.fixture
def small_reach(monkeypatch):
    monkeypatch.setattr("catalog.search.statements.RECENT_ITEMS", 5)
    monkeypatch.setattr("catalog.search.statements.RANKED", 3)


# The stove is the newest item: probing one item finds no match and reads every match
# through the index; probing two finds the bike light and walks the recent items.
@pytest.mark.parametrize("probe_items", [1, 2])
def test_ranks_the_newest_matches_among_recent_items(
    client, lamps, small_reach, monkeypatch, probe_items
):
    monkeypatch.setattr("catalog.search.statements.PROBE_ITEMS", probe_items)
    assert names(client.get("/search?q=lamp").get_data(as_text=True)) == LAMPS_IN_ORDER


@pytest.mark.parametrize("probe_items", [1, 2])
def test_pages_follow_the_same_order_past_the_ranked_matches(
    app, client, lamps, small_reach, monkeypatch, probe_items
):
    monkeypatch.setattr("catalog.search.statements.PROBE_ITEMS", probe_items)
    app.config["ITEMS_PER_PAGE"] = 2
    seen, page, html = [], 1, ""
    while page == 1 or 'rel="next"' in html:
        html = client.get(f"/search?q=lamp&page={page}").get_data(as_text=True)
        seen += names(html)
        page += 1
    assert seen == LAMPS_IN_ORDER
    assert page - 1 == 3


def test_finds_matches_older_than_the_recent_items(client, lamps, small_reach):
    assert names(client.get("/search?q=old").get_data(as_text=True)) == ["Lamp"]


def test_without_limits_in_reach_every_match_is_ranked(client, lamps):
    # Seven items, far fewer than RECENT_ITEMS and RANKED: both name matches lead.
    page = names(client.get("/search?q=lamp").get_data(as_text=True))
    assert page == ["Desk Lamp", "Lamp", "Bike Light", "Head Torch", "Lantern", "Torch"]


def test_search_follows_edits(app, client, lamps):
    with app.app_context():
        stove = db.session.scalars(select(Item).where(Item.name == "Stove")).one()
        change_item(stove, stove.version, name="Camp Kettle", description="Boils water.")
        db.session.commit()
    assert names(client.get("/search?q=kettle").get_data(as_text=True)) == ["Camp Kettle"]
    assert names(client.get("/search?q=burners").get_data(as_text=True)) == []


# The API's search, in id order. Sixteen items, oldest first, Camping and Hiking by turns
# (the even ones in Hiking); these hold "lamp", in the name or only in the description.
SHELF_LAMPS = {1: "name", 2: "name", 4: "description", 8: "name", 9: "description", 10: "name"}
SHELF_LAMPS[15] = "name"
# PROBE_ITEMS and WALK_SCALE: the defaults walk a catalog this small whole; one probed item
# sends every page to the index; with two, some pages are walked, some walks fall short
# and go on through the index, some pages go to the index at once; with eight, pages are
# walked only when the probe fills them, or near the end.
REACHES = [(2_000, 5_000_000), (1, 1), (2, 3), (8, 1)]


@pytest.fixture
def shelf(app) -> dict[int, int]:
    """Add the sixteen items; return their ids by position."""
    with app.app_context():
        owner = User(issuer="https://issuer.example", subject="1", email="o@example.com", name="O")
        db.session.add(owner)
        camping, hiking = add_category("Camping"), add_category("Hiking")
        items = {}
        for n in range(1, 17):
            where = SHELF_LAMPS.get(n)
            name = f"Lamp {n}" if where == "name" else f"Box {n}"
            description = "Bright, a lamp for the tent." if where == "description" else "Sturdy."
            items[n] = add_item(owner, hiking if n % 2 == 0 else camping, name, description)
        db.session.commit()
        return {n: item.id for n, item in items.items()}


@pytest.fixture(params=REACHES, ids=lambda reach: f"probe-{reach[0]}-scale-{reach[1]}")
def reach(request, monkeypatch):
    monkeypatch.setattr("catalog.search.statements.PROBE_ITEMS", request.param[0])
    monkeypatch.setattr("catalog.search.statements.WALK_SCALE", request.param[1])


def api_pages(client, url: str) -> list[list[int]]:
    """Return the item ids of each page from ``url`` on, following ``next`` to the end."""
    pages = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.get_data(as_text=True)
        page = response.get_json()
        pages.append([item["id"] for item in page["items"]])
        url = page["next"]
        assert len(pages) <= 20, "the pages do not end"
    return pages


@pytest.mark.parametrize("category", [None, "hiking"])
def test_api_lists_every_match_once_in_id_order(client, shelf, reach, category):
    expected = [shelf[n] for n in SHELF_LAMPS if category is None or n % 2 == 0]
    for limit in (1, 2, 3, 100):
        query = {"q": "lamp", "limit": limit, **({"category": category} if category else {})}
        pages = api_pages(client, f"/api/v1/items?{urlencode(query)}")
        assert [i for page in pages for i in page] == expected, (limit, pages)
        assert all(len(page) == limit for page in pages[:-1]), (limit, pages)
        assert pages[-1], "a page with a next link came before an empty one"


def test_api_search_edges(client, shelf, reach):
    def page(**query):
        return client.get(f"/api/v1/items?{urlencode(query)}").get_json()

    nothing = {"items": [], "next": None}
    assert page(q="kayak") == nothing
    assert page(q="lamp", cursor="zzzzzzzzzzzz") == nothing
    assert page(q="lamp", cursor=encode_cursor(shelf[15])) == nothing
    assert page(q="lamp", category="hiking", cursor=encode_cursor(shelf[10])) == nothing
    middle = page(q="lamp", limit=2, cursor=encode_cursor(shelf[3]))
    assert [item["id"] for item in middle["items"]] == [shelf[4], shelf[8]]
    assert middle["next"] is not None
    last = page(q="lamp", limit=2, cursor=encode_cursor(shelf[9]))
    assert [item["id"] for item in last["items"]] == [shelf[10], shelf[15]]
    assert last["next"] is None


def test_api_search_pages_cost_one_query_and_the_marker(client, shelf, reach, count_queries):
    with count_queries() as queries:
        assert client.get("/api/v1/items?q=lamp&limit=2&cursor=3").status_code == 200
    # The search, after the change marker (its ETag).
    assert len(queries) == 2, queries


def _removed_rows(plan: dict) -> int:
    """Return how many rows the nodes of ``plan`` read and threw away, all told."""
    return plan.get("Rows Removed by Filter", 0) + sum(map(_removed_rows, plan.get("Plans", [])))


def test_api_search_reads_a_bounded_number_of_items(app, backend_name, monkeypatch):
    """A word that matches nothing costs the probe, not a walk through every item."""
    if backend_name != "postgresql":
        pytest.skip("the planner is PostgreSQL's")
    # Probe 100 items; walk at most 458 (for 21 rows), so that a rare word is not walked.
    monkeypatch.setattr("catalog.search.statements.PROBE_ITEMS", 100)
    monkeypatch.setattr("catalog.search.statements.WALK_SCALE", 10_000)
    seed_api_catalog(app)
    with app.app_context():
        seed_synthetic(3000)
        connection = db.session.connection()
        connection.exec_driver_sql("ANALYZE items")
        # As at a million items, where reading every item costs more than the index.
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        last = connection.exec_driver_sql("SELECT max(id) FROM items").scalar()

        def analyze(q, after):
            statement, params = api_query(q, after, 21)
            compiled = statement.compile(dialect=connection.dialect)
            rows = connection.exec_driver_sql(
                f"EXPLAIN (ANALYZE, FORMAT JSON) {compiled}", {**compiled.params, **params}
            )
            return rows.scalar()[0]["Plan"]

        for q, after in [("nosuchword", 0), ("synthetic 42", 0), ("synthetic", last - 500)]:
            plan = analyze(q, after)
            assert _removed_rows(plan) <= 100, (q, after, plan)
        assert analyze("synthetic", last - 500)["Actual Rows"] == 21
        db.session.rollback()
