"""A person's items: "My items" on the account page, and each owner's public page."""

import re
from html import unescape

import pytest
from sqlalchemy import select

from catalog.changes import add_category, add_item
from catalog.extensions import db
from catalog.models import ID_MAX, Item, User


@pytest.fixture
def owners(app, auth) -> dict[str, int]:
    """Ada (signed in through the dev sign-in) with five items, Bo with one; their ids."""
    assert auth.login("ada").status_code == 302
    with app.app_context():
        ada = db.session.scalars(select(User).where(User.name == "Ada Brooks")).one()
        bo = User(issuer="https://issuer.example", subject="bo", email="bo@example.com", name="Bo")
        db.session.add(bo)
        camping, hiking = add_category("Camping"), add_category("Hiking")
        for n in range(1, 6):
            add_item(ada, camping if n % 2 else hiking, f"Ada's thing {n}", f"Number {n}.")
        add_item(bo, camping, "Bo's tent", "Sleeps <two>.")
        db.session.commit()
        return {"ada": ada.id, "bo": bo.id}


def listed(html: str) -> list[str]:
    return [unescape(name) for name in re.findall(r'<span class="name">([^<]+)</span></a>', html)]


def walk(client, url: str) -> list[list[str]]:
    pages = []
    while url:
        html = client.get(url).get_data(as_text=True)
        pages.append(listed(html))
        match = re.search(r'<a rel="next" href="([^"]+)"', html)
        url = match.group(1) if match else None
    return pages


def test_the_item_page_links_its_owner(app, client, owners):
    with app.app_context():
        slug = db.session.scalar(select(Item.slug).where(Item.owner_id == owners["bo"]))
    html = client.get(f"/catalog/camping/{slug}/").get_data(as_text=True)
    assert f'<a class="owner" href="/users/{owners["bo"]}/">Bo</a>' in html


def test_an_owners_page_lists_their_items_newest_first(app, client, owners):
    app.config["ITEMS_PER_PAGE"] = 2
    pages = walk(client, f"/users/{owners['ada']}/")
    assert pages == [
        ["Ada's thing 5", "Ada's thing 4"],
        ["Ada's thing 3", "Ada's thing 2"],
        ["Ada's thing 1"],
    ]
    html = client.get(f"/users/{owners['bo']}/").get_data(as_text=True)
    assert "<h1>Items added by Bo</h1>" in html
    assert listed(html) == ["Bo's tent"]
    assert '<p class="summary">Sleeps &lt;two&gt;.</p>' in html
    assert "bo@example.com" not in html  # the name alone, never the e-mail


def test_an_owners_page_goes_back_and_to_the_start(app, client, owners):
    app.config["ITEMS_PER_PAGE"] = 2
    first = client.get(f"/users/{owners['ada']}/").get_data(as_text=True)
    assert "First page" not in first
    second_url = re.search(r'rel="next" href="([^"]+)"', first).group(1)
    second = client.get(second_url).get_data(as_text=True)
    back = client.get(re.search(r'rel="prev" href="([^"]+)"', second).group(1)).text
    assert listed(back) == listed(first)
    assert f'class="pager-start" href="/users/{owners["ada"]}/"' in second


def test_someone_with_no_items(app, client, owners):
    with app.app_context():
        for item in db.session.scalars(select(Item).where(Item.owner_id == owners["bo"])):
            db.session.delete(item)
        db.session.commit()
    html = client.get(f"/users/{owners['bo']}/").get_data(as_text=True)
    assert "Bo has added no items yet." in html


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/users/999999/", 404),
        (f"/users/{ID_MAX + 1}/", 404),
        ("/users/x/", 404),
        ("/users/1/?after=x", 400),
        ("/users/1/?before=0", 400),
        ("/users/1/?after=%00", 400),
    ],
)
def test_bad_owner_urls(client, owners, url, status):
    assert client.get(url).status_code == status


@pytest.mark.parametrize("query", ["", "?after=3", "?before=2"])
def test_an_owners_page_costs_the_marker_and_two_queries(app, owners, count_queries, query):
    """The change marker (its ETag), the person, then the page of items (signed out)."""
    visitor = app.test_client()
    with count_queries() as queries:
        assert visitor.get(f"/users/{owners['ada']}/{query}").status_code == 200
    assert len(queries) == 3, queries


def test_the_account_page_shows_my_items_and_pages_on(app, client, owners):
    app.config["ITEMS_PER_PAGE"] = 2
    html = client.get("/account").get_data(as_text=True)
    section = html[html.index('id="my-items-heading"') : html.index('id="api-tokens"')]
    assert listed(section) == ["Ada's thing 5", "Ada's thing 4"]
    assert "Bo's tent" not in section
    assert f'rel="next" href="/users/{owners["ada"]}/?after=' in section
    assert f'href="/users/{owners["ada"]}/">Your public page of items</a>' in section


def test_the_account_page_says_when_there_are_none(client, auth):
    auth.login("sam")
    assert "You have added no items yet." in client.get("/account").get_data(as_text=True)


def test_my_items_cost_the_account_page_one_query(app, client, owners, count_queries):
    """However many items: the same number of queries with five items as with none."""
    with count_queries() as with_items:
        assert client.get("/account").status_code == 200
    with app.app_context():
        db.session.execute(Item.__table__.delete())
        db.session.commit()
    with count_queries() as without:
        assert client.get("/account").status_code == 200
    assert len(with_items) == len(without), with_items
    assert sum("FROM items" in statement for statement in with_items) == 1, with_items
