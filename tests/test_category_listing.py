"""A category's page: its items with a picture, a line and a date, in three orders, by keyset."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from catalog.changes import add_category, add_item
from catalog.extensions import db
from catalog.models import Item, User

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def shelf(app) -> list[str]:
    """Seven items in Camping, added a day apart; updated in another order. Return the
    names, newest first."""
    with app.app_context():
        owner = User(issuer="https://issuer.example", subject="1", email="o@example.com", name="O")
        db.session.add(owner)
        camping = add_category("Camping")
        add_category("Empty")
        names = ["Stove", "Axe", "Tent", "Mug", "Lamp", "Kettle", "Rope"]
        for n, name in enumerate(names):
            item = add_item(owner, camping, name, f"The {name.lower()}.\nSecond line.")
            item.created = T0 + timedelta(days=n)
            # The later in the alphabet, the more recently updated.
            item.updated = T0 + timedelta(days=10 + sorted(names).index(name))
        db.session.commit()
        return list(reversed(names))


def listed(html: str) -> list[str]:
    return re.findall(r'<span class="name">([^<]+)</span></a>', html)


def walk(client, url: str) -> tuple[list[str], list[str]]:
    """Follow "next" from ``url``; return the names in order and each page's position."""
    names, positions = [], []
    while url:
        html = client.get(url).get_data(as_text=True)
        names += listed(html)
        positions += re.findall(r'<p class="position">([^<]+)</p>', html)
        match = re.search(r'<a rel="next" href="([^"]+)"', html)
        url = match.group(1).replace("&amp;", "&") if match else None
    return names, positions


@pytest.mark.parametrize(
    ("sort", "order"),
    [
        ("name", sorted),
        ("newest", lambda names: names),
        ("updated", lambda names: sorted(names, reverse=True)),
    ],
)
def test_each_order_walks_every_item_once(app, client, shelf, sort, order):
    app.config["ITEMS_PER_PAGE"] = 3
    names, positions = walk(client, f"/catalog/camping/?sort={sort}")
    assert names == order(shelf)
    assert positions == ["1–3 of 7", "4–6 of 7", "7–7 of 7"]


@pytest.mark.parametrize("sort", ["name", "newest", "updated"])
def test_previous_leads_back_and_first_page_to_the_start(app, client, shelf, sort):
    app.config["ITEMS_PER_PAGE"] = 3
    first = client.get(f"/catalog/camping/?sort={sort}").get_data(as_text=True)
    assert "First page" not in first
    second_url = re.search(r'rel="next" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    third_url = re.search(
        r'rel="next" href="([^"]+)"', client.get(second_url).get_data(as_text=True)
    ).group(1)
    third = client.get(third_url.replace("&amp;", "&")).get_data(as_text=True)
    previous_url = re.search(r'rel="prev" href="([^"]+)"', third).group(1)
    second = client.get(previous_url.replace("&amp;", "&")).get_data(as_text=True)
    assert listed(second) == listed(client.get(second_url).get_data(as_text=True))
    assert '<p class="position">4–6 of 7</p>' in second
    start = re.search(r'<a class="pager-start" href="([^"]+)"', third).group(1)
    assert listed(client.get(start.replace("&amp;", "&")).get_data(as_text=True)) == listed(first)
    assert (f"sort={sort}" in start) == (sort != "name")


def test_rows_show_a_line_of_the_description_and_a_date(client, shelf):
    html = client.get("/catalog/camping/?sort=newest").get_data(as_text=True)
    assert '<p class="summary">The rope.</p>' in html
    assert "Second line" not in html
    assert re.search(r'<span class="meta">Added <time datetime="2026-01-07T00:00:00\+00:00"', html)
    updated = client.get("/catalog/camping/?sort=updated").get_data(as_text=True)
    latest = r'<span class="meta">Updated <time datetime="2026-01-17T00:00:00\+00:00"'
    assert re.search(latest, updated)


def test_the_current_order_is_marked(client, shelf):
    html = client.get("/catalog/camping/?sort=updated").get_data(as_text=True)
    current = r'<a class="sort-current" aria-current="true" href="[^"]+sort=updated">'
    assert re.search(current + "Recently updated</a>", html)


@pytest.mark.parametrize("sort", ["", "price", "NAME", "\x00", "x" * 500])
def test_an_unknown_order_is_the_default(client, shelf, sort):
    response = client.get("/catalog/camping/", query_string={"sort": sort})
    assert response.status_code == 200
    assert listed(response.get_data(as_text=True)) == sorted(shelf)


@pytest.mark.parametrize(
    "query",
    [
        {"sort": "newest", "after": "axe"},
        {"sort": "newest", "after": "-1"},
        {"sort": "updated", "before": "99999999999999"},
        {"sort": "newest", "after": "٣"},
        {"after": "\x00"},
    ],
)
def test_damaged_page_links_are_400(client, shelf, query):
    response = client.get("/catalog/camping/", query_string=query)
    assert response.status_code == 400
    assert "page link is damaged" in response.get_data(as_text=True)


@pytest.mark.parametrize("start", ["0", "999", "x", "-3"])
def test_a_wrong_start_leaves_the_position_out(client, shelf, start):
    html = client.get("/catalog/camping/", query_string={"after": "kettle", "start": start}).text
    assert listed(html) == ["Lamp", "Mug", "Rope", "Stove", "Tent"]
    assert 'class="position"' not in html


def test_a_gone_cursor_gives_an_empty_page_with_the_way_back(app, client, shelf):
    with app.app_context():
        gone = db.session.scalars(select(Item).where(Item.name == "Lamp")).one()
        gone_id = gone.id
        db.session.delete(gone)
        db.session.commit()
    html = client.get(f"/catalog/camping/?sort=newest&after={gone_id}").text
    assert listed(html) == []
    assert "No items here on this page" in html
    assert 'class="pager-start" href="/catalog/camping/?sort=newest"' in html


def test_an_empty_category_says_so(client, shelf):
    html = client.get("/catalog/empty/").text
    assert "No items here." in html
    assert 'class="position"' not in html


@pytest.mark.parametrize(
    "query", ["", "?sort=newest", "?sort=updated&after=3&start=4", "?sort=name&before=m"]
)
def test_every_order_costs_the_marker_and_two_queries(client, shelf, count_queries, query):
    with count_queries() as queries:
        assert client.get(f"/catalog/camping/{query}").status_code == 200
    # The change marker (the page's ETag), the category, its page of items.
    assert len(queries) == 3, queries
