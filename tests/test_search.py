"""Search by words in names and descriptions: the /search page, on SQLite and PostgreSQL."""

import re

import pytest
from api_data import seed_api_catalog

from catalog.changes import add_category, add_item
from catalog.cli import seed_synthetic
from catalog.extensions import db
from catalog.models import User
from catalog.search import search_query


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


def test_postgresql_plan_uses_the_gin_index(app, backend_name):
    if backend_name != "postgresql":
        pytest.skip("the full-text index exists on PostgreSQL only")
    seed_api_catalog(app)
    with app.app_context():
        seed_synthetic(5000)
        connection = db.session.connection()
        connection.exec_driver_sql("ANALYZE items")
        # The planner may still prefer a scan on a table this small; the point is that
        # the query's expression matches the index's, so it can use it at all.
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        compiled = search_query("synthetic 42", 1, 20).compile(dialect=connection.dialect)
        plan = "\n".join(
            row[0] for row in connection.exec_driver_sql(f"EXPLAIN {compiled}", compiled.params)
        )
        db.session.rollback()
    assert "ix_items_search" in plan, plan


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
