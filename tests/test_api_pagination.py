"""Cursor pagination: every item exactly once, even while items are being added."""

import pytest
from support.api_data import seed_api_catalog

from catalog.api.cursors import encode_cursor
from catalog.changes import add_item
from catalog.extensions import db
from catalog.models import Category, User
from catalog.seed import seed_synthetic


@pytest.fixture
def seeded(app):
    app.config["RATELIMIT_WRITES"] = "1000 per minute"  # the walk below writes a lot
    seeded = seed_api_catalog(app)
    with app.app_context():
        seed_synthetic(120)
    return seeded


def all_ids(client, url="/api/v1/items?limit=100"):
    ids = []
    while url:
        page = client.get(url).get_json()
        ids += [item["id"] for item in page["items"]]
        url = page["next"]
        if len(ids) > 1000:
            pytest.fail("the pages do not end")
    return ids


def test_walking_the_pages_while_items_are_added(app, client, seeded):
    before = all_ids(client)
    assert len(before) == 122

    walked, added = [], []
    url = "/api/v1/items?limit=7"
    pages = 0
    while url:
        response = client.get(url)
        assert response.status_code == 200
        page = response.get_json()
        assert len(page["items"]) <= 7
        walked += [item["id"] for item in page["items"]]
        url = page["next"]
        pages += 1
        # Someone adds items between every two pages, in two categories.
        for n in range(2):
            created = client.post(
                "/api/v1/items",
                json={"category": ("soccer", "hockey")[n], "name": f"Added {pages}-{n}"},
                headers=seeded.bearer("lena"),
            )
            assert created.status_code == 201
            added.append(created.get_json()["id"])
        if pages > 200:
            pytest.fail("the walk does not end")

    assert len(walked) == len(set(walked)), "an item was listed twice"
    assert set(before) <= set(walked), "an item that existed all along was skipped"
    # Items added during the walk land after the cursor, so the walk picks them up too,
    # apart from those added after the last page was read.
    assert set(walked) - set(before) <= set(added)
    assert walked == sorted(walked)


def test_next_links_keep_the_filters_and_end_with_null(client, seeded):
    first = client.get("/api/v1/items?limit=5&q=synthetic&category=soccer")
    page = first.get_json()
    assert "limit=5" in page["next"]
    assert "q=synthetic" in page["next"]
    assert "category=soccer" in page["next"]
    assert first.headers["Link"] == f'<{page["next"]}>; rel="next"'

    ids = all_ids(client, "/api/v1/items?limit=5&q=synthetic&category=soccer")
    expected = client.get("/api/v1/items?limit=100&q=synthetic&category=soccer").get_json()
    assert ids == [item["id"] for item in expected["items"]]
    assert expected["next"] is None

    last = client.get("/api/v1/items?limit=100&category=hockey")
    assert last.get_json()["next"] is None
    assert "Link" not in last.headers


@pytest.mark.parametrize("limit", [1, 100])
def test_limit_bounds(client, seeded, limit):
    page = client.get(f"/api/v1/items?limit={limit}").get_json()
    assert len(page["items"]) == limit
    assert page["next"] is not None


def test_default_page_size_is_20(client, seeded):
    assert len(client.get("/api/v1/items").get_json()["items"]) == 20


def test_a_deleted_cursor_item_does_not_break_the_walk(app, client, seeded):
    page = client.get("/api/v1/items?limit=10").get_json()
    last = page["items"][-1]["id"]
    assert client.delete(f"/api/v1/items/{last}", headers=seeded.bearer("lena")).status_code == 204
    following = client.get(page["next"]).get_json()
    assert following["items"][0]["id"] > last


def test_pages_of_a_category_hold_only_its_items(app, client, seeded):
    with app.app_context():
        owner = db.session.get(User, seeded.users["ada"])
        hockey = db.session.get(Category, seeded.categories["hockey"])
        add_item(owner, hockey, "Puck")
        db.session.commit()
    url = "/api/v1/items?limit=3&category=hockey"
    while url:
        page = client.get(url).get_json()
        assert {item["category"]["slug"] for item in page["items"]} <= {"hockey"}
        url = page["next"]


def test_any_well_formed_cursor_is_a_position(client, seeded):
    assert client.get("/api/v1/items?cursor=zzzzzzzzzzzz").get_json() == {"items": [], "next": None}
    first = client.get("/api/v1/items?cursor=0&limit=3").get_json()["items"]
    assert first == client.get("/api/v1/items?limit=3").get_json()["items"]
    for cursor in ("ZZ", "a-b", "0123456789abc", ""):
        assert client.get(f"/api/v1/items?cursor={cursor}").status_code == 422


# PROBE_ITEMS and WALK_SCALE for the search: by default a catalog this small is walked
# whole; probing one item sends every page through the full-text index; probing three
# walks eight items (a page of seven and one more) where three in a row match, and goes
# through the index elsewhere.
SEARCH_REACHES = [(2_000, 5_000_000), (1, 1), (3, 8)]


@pytest.mark.parametrize(("probe_items", "walk_scale"), SEARCH_REACHES)
def test_search_pages_while_matching_items_are_added(
    client, seeded, monkeypatch, probe_items, walk_scale
):
    monkeypatch.setattr("catalog.search.statements.PROBE_ITEMS", probe_items)
    monkeypatch.setattr("catalog.search.statements.WALK_SCALE", walk_scale)
    before = all_ids(client, "/api/v1/items?limit=100&q=synthetic")
    assert len(before) == 120

    walked, added = [], []
    url = "/api/v1/items?limit=7&q=synthetic"
    while url:
        page = client.get(url).get_json()
        walked += [item["id"] for item in page["items"]]
        url = page["next"]
        # Someone adds a matching item and one that does not match between every two pages.
        for description in ("Synthetic too.", "Something else."):
            item = {"category": "soccer", "name": f"Added {len(added)}", "description": description}
            created = client.post("/api/v1/items", json=item, headers=seeded.bearer("lena"))
            assert created.status_code == 201
            added.append(created.get_json()["id"])
        if len(added) > 200:
            pytest.fail("the walk does not end")

    assert walked == sorted(set(walked)), "not in id order, or an item was listed twice"
    assert walked[: len(before)] == before
    # Matching items added during the walk come at the end, all but the one added after
    # the last page; the others never do.
    assert walked[len(before) :] == added[:-2:2]


@pytest.mark.parametrize(("probe_items", "walk_scale"), SEARCH_REACHES)
def test_search_cursor_past_the_end_is_an_empty_last_page(
    client, seeded, monkeypatch, probe_items, walk_scale
):
    monkeypatch.setattr("catalog.search.statements.PROBE_ITEMS", probe_items)
    monkeypatch.setattr("catalog.search.statements.WALK_SCALE", walk_scale)
    ids = all_ids(client, "/api/v1/items?limit=100&q=synthetic&category=hockey")
    assert 0 < len(ids) < 120
    last = encode_cursor(ids[-1])
    for query in (f"q=synthetic&cursor={last}", "q=synthetic&cursor=zzzzzzzzzzzz"):
        assert client.get(f"/api/v1/items?{query}&category=hockey").get_json() == {
            "items": [],
            "next": None,
        }
    first = encode_cursor(ids[0])
    page = client.get(f"/api/v1/items?q=synthetic&category=hockey&cursor={first}&limit=3")
    assert [item["id"] for item in page.get_json()["items"]] == ids[1:4]
