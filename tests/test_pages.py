import re

import pytest
from sqlalchemy import select

from catalog.extensions import db
from catalog.models import Category, Item
from catalog.seed import seed_demo, seed_synthetic


@pytest.fixture
def demo(app):
    with app.app_context():
        seed_demo()


@pytest.fixture
def big(app):
    """The demo catalog plus enough items to make a query per row obvious."""
    with app.app_context():
        seed_demo()
        seed_synthetic(3000)


def test_home_lists_categories_with_counts_and_latest_items(client, demo):
    page = client.get("/").get_data(as_text=True)
    assert 'href="/catalog/soccer/"' in page
    assert "Rock Climbing" in page
    assert re.search(r"Soccer</a>\s*<span class=\"count\">7 items</span>", page)
    assert "Latest items" in page
    assert 'href="/catalog/camping/' in page


def test_empty_catalog_home_says_so(client):
    page = client.get("/").get_data(as_text=True)
    assert "The catalog is empty." in page


def test_category_page_lists_its_items(client, demo):
    page = client.get("/catalog/soccer/").get_data(as_text=True)
    assert "<h1>Soccer</h1>" in page
    assert 'href="/catalog/soccer/match-ball/"' in page
    assert "Snowboard" not in page


def test_item_page_shows_owner_and_dates(client, demo):
    page = client.get("/catalog/soccer/match-ball/").get_data(as_text=True)
    assert "<h1>Match Ball</h1>" in page
    assert "Ada Brooks" in page
    assert re.search(r'<time datetime="\d{4}-\d\d-\d\dT[\d:.]+\+00:00">', page)


@pytest.mark.parametrize(
    "url",
    ["/catalog/nope/", "/catalog/soccer/nope/", "/catalog/hockey/match-ball/", "/no/such/page"],
)
def test_unknown_category_or_item_is_404_page(client, demo, url):
    response = client.get(url)
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "<h1>Not found</h1>" in page
    assert 'href="/"' in page  # shares the layout


@pytest.mark.backend_independent
def test_500_is_a_page_without_stack_trace(app, client):
    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals")

    app.testing = False  # let the error handler run as in production
    response = client.get("/boom")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Something went wrong" in page
    assert "secret internals" not in page
    assert "Traceback" not in page


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok", "redis": "not configured"}


def test_healthz_503_when_database_is_gone(make_app, tmp_path):
    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/missing/dir/db.sqlite")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.headers["Retry-After"]


def walk(client, url):
    """Follow "next" links from ``url``; return the item slugs in order and the pages seen."""
    slugs, pages = [], 0
    while url:
        page = client.get(url).get_data(as_text=True)
        pages += 1
        slugs += re.findall(r'<li><a href="/catalog/[^/]+/([^/]+)/">', page)
        match = re.search(r'<a rel="next" href="([^"]+)"', page)
        url = match.group(1).replace("&amp;", "&") if match else None
    return slugs, pages


def test_category_pages_walk_every_item_once_in_order(app, client, big):
    with app.app_context():
        expected = list(
            db.session.scalars(
                select(Item.slug)
                .join(Item.category)
                .where(Category.slug == "soccer")
                .order_by(Item.slug)
            )
        )
    slugs, pages = walk(client, "/catalog/soccer/")
    assert slugs == expected
    assert pages == -(-len(expected) // app.config["ITEMS_PER_PAGE"])


def test_previous_page_leads_back(app, client, big):
    first = client.get("/catalog/soccer/").get_data(as_text=True)
    next_url = re.search(r'<a rel="next" href="([^"]+)"', first).group(1)
    second = client.get(next_url).get_data(as_text=True)
    previous_url = re.search(r'<a rel="prev" href="([^"]+)"', second).group(1)
    back = client.get(previous_url).get_data(as_text=True)
    items = re.compile(r'<li><a href="(/catalog/soccer/[^"]+)"')
    assert items.findall(back) == items.findall(first)
    assert 'rel="prev"' not in back


# The bound each page must keep however large the catalog grows.
# Each page but /healthz first reads the change marker, its ETag (catalog.web.caching).
PAGE_QUERIES = {
    "/": 3,  # the marker; categories with counts; latest items with their categories
    "/catalog/soccer/": 3,  # the marker; the category; one page of items
    "/catalog/soccer/?after=m": 3,
    "/catalog/soccer/match-ball/": 2,  # the marker; the item with category and owner
    "/healthz": 1,
}


@pytest.mark.parametrize(("url", "bound"), PAGE_QUERIES.items())
def test_page_query_count_is_bounded(client, big, count_queries, url, bound):
    with count_queries() as queries:
        response = client.get(url)
    assert response.status_code == 200
    assert len(queries) <= bound, "\n\n".join(queries)


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/catalog/%00/", 404),
        ("/catalog/soccer/%00/", 404),
        ("/catalog/%00/match-ball/", 404),
        ("/catalog/soccer/?after=%00", 400),
        ("/catalog/soccer/?before=a%00b", 400),
    ],
)
def test_nul_in_a_url_is_a_client_error(client, demo, url, status):
    response = client.get(url)
    assert response.status_code == status
    assert "Back to the catalog" in response.get_data(as_text=True)
