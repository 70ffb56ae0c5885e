"""Search by words in names and descriptions: the /search page, on SQLite and PostgreSQL."""

import re

import pytest
from api_data import seed_api_catalog
from sqlalchemy import event, select

from catalog.changes import add_category, add_item, change_item
from catalog.cli import seed_synthetic
from catalog.extensions import db
from catalog.models import Item, User
from catalog.search import matches, search_query


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
    return re.findall(r'<a href="/catalog/[^"]+/">([^<]+)</a>\s*<span class="meta">in ', page)


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


@pytest.mark.parametrize("query", ["q=x&page=0", "q=x&page=101", "q=" + "x" * 201])
def test_bad_requests_are_400(client, gear, query):
    assert client.get(f"/search?{query}").status_code == 400


def test_header_has_the_search_box(client, gear):
    page = client.get("/").get_data(as_text=True)
    assert re.search(r'<form role="search" method="get" action="/search">', page)
    kept = client.get("/search?q=stove").get_data(as_text=True)
    assert '<label class="visually-hidden" for="site-search">Search items</label>' in kept
    assert 'id="site-search" name="q" placeholder="Search items" maxlength="200"\n' in kept
    assert 'value="stove"' in kept


def test_search_page_costs_one_query(client, gear, count_queries):
    with count_queries() as queries:
        assert client.get("/search?q=lamp").status_code == 200
    assert len(queries) == 1, queries


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
    assert seen == [True]


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
        api = _plan(connection, select(Item.id).where(matches("synthetic 42")), {})
        db.session.rollback()
    assert "ix_items_search_vector" in page, page
    assert "ix_items_search_vector" in api, api


@pytest.fixture
def backend_name(app):
    with app.app_context():
        return db.engine.dialect.name


def test_sqlite_searches_literally(client, gear, backend_name):
    """LIKE wildcards in a query are words, not patterns."""
    if backend_name != "sqlite":
        pytest.skip("the LIKE fallback is SQLite's")
    assert names(client.get("/search?q=%25").get_data(as_text=True)) == []
    assert names(client.get("/search?q=_").get_data(as_text=True)) == []


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
    monkeypatch.setattr("catalog.search.RECENT_ITEMS", 5)
    monkeypatch.setattr("catalog.search.RANKED", 3)


# The stove is the newest item: probing one item finds no match and reads every match
# through the index; probing two finds the bike light and walks the recent items.
@pytest.mark.parametrize("probe_items", [1, 2])
def test_ranks_the_newest_matches_among_recent_items(
    client, lamps, small_reach, monkeypatch, probe_items
):
    monkeypatch.setattr("catalog.search.PROBE_ITEMS", probe_items)
    assert names(client.get("/search?q=lamp").get_data(as_text=True)) == LAMPS_IN_ORDER


@pytest.mark.parametrize("probe_items", [1, 2])
def test_pages_follow_the_same_order_past_the_ranked_matches(
    app, client, lamps, small_reach, monkeypatch, probe_items
):
    monkeypatch.setattr("catalog.search.PROBE_ITEMS", probe_items)
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
