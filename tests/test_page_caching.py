"""Validators for anonymous readers: 304 before the view, and never a stale page after a change.

Every page, feed and API read that shows the Match Ball is read once by an anonymous
client; then the ball, its category, its picture or its owner's name changes, through
the forms or the API, and each old ETag is sent back: every answer is 200 with the new
content, none is 304. The same holds for pages asked for again without a validator,
which the server keeps rendered (in-process, or in Redis with ``REDIS_URL``).
"""

import io
import time

import pytest
from sqlalchemy import text
from support.api_data import seed_api_catalog
from support.html_forms import submit
from support.pictures import solid
from support.redis_servers import HungRedis

from catalog.demo import DEMO_ISSUER
from catalog.extensions import db
from catalog.models import CatalogState, Item
from catalog.oidc import upsert_user
from catalog.seed import seed_synthetic
from catalog.web import caching
from catalog.web.caching import PRIVATE, PUBLIC

PAGES = (
    "/",
    "/catalog/soccer/",
    "/catalog/soccer/match-ball/",
    "/search?q=ball",
    "/catalog.json",
    "/catalog/latest.atom",
    "/api/v1/categories",
    "/api/v1/items",
    "/api/v1/items?category=soccer",
    "/api/v1/items?q=ball",
)


@pytest.fixture
def seeded(app):
    return seed_api_catalog(app)


@pytest.fixture
def hung_redis():
    server = HungRedis(hold=3)
    yield server
    server.close()


@pytest.fixture
def pages(seeded):
    """Every URL that shows the Match Ball, its category and its owner."""
    # The owner's page lists the ball too; the API item comes last (tests below take it).
    return (*PAGES, f"/users/{seeded.users['ada']}/", f"/api/v1/items/{seeded.items['ball']}")


def etags(client, urls) -> dict[str, str]:
    """Read each of ``urls`` and return its ETag, checking that it is validated."""
    found = {}
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        found[url] = response.headers["ETag"]
        again = client.get(url, headers={"If-None-Match": found[url]})
        assert again.status_code == 304, url
    return found


def revalidated(client, old: dict[str, str]) -> dict[str, str]:
    """Send each old ETag back; assert a full, new answer for each; return the bodies."""
    bodies = {}
    for url, etag in old.items():
        response = client.get(url, headers={"If-None-Match": etag})
        assert response.status_code == 200, f"{url} answered {response.status_code}"
        assert response.headers["ETag"] != etag, url
        bodies[url] = response.get_data(as_text=True)
    return bodies


def test_anonymous_pages_are_public_and_revalidated(client, seeded, pages):
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == PUBLIC, url
        etag = response.headers["ETag"]
        for sent in (etag, f"W/{etag}" if not etag.startswith("W/") else etag[2:], f'"x", {etag}'):
            not_modified = client.get(url, headers={"If-None-Match": sent})
            assert not_modified.status_code == 304, (url, sent)
            assert not_modified.data == b""
            assert not_modified.headers["ETag"] == etag
            assert not_modified.headers["Cache-Control"] == PUBLIC
        assert client.get(url, headers={"If-None-Match": '"other"'}).status_code == 200


def test_html_pages_vary_by_cookie(client, seeded):
    for url in PAGES[:4]:
        response = client.get(url)
        assert "Cookie" in response.vary, url
        not_modified = client.get(url, headers={"If-None-Match": response.headers["ETag"]})
        assert "Cookie" in not_modified.vary, url


def test_signed_in_pages_are_private_and_never_validated(seeded, signed_in, client):
    anonymous = client.get("/").headers["ETag"]
    ada = signed_in("ada")
    for url in PAGES[:4]:
        response = ada.get(url, headers={"If-None-Match": anonymous})
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == PRIVATE
        assert "ETag" not in response.headers
        assert "Cookie" in response.vary
    assert "Ada Brooks" in ada.get("/", headers={"If-None-Match": anonymous}).text


def test_a_304_costs_one_query_and_runs_no_view(client, seeded, pages, count_queries):
    for url, etag in etags(client, pages).items():
        with count_queries() as queries:
            response = client.get(url, headers={"If-None-Match": etag})
        assert response.status_code == 304
        # The change marker alone.
        assert len(queries) == 1, (url, queries)


def test_etags_differ_by_url_and_by_settings(app, client, seeded):
    first = client.get("/catalog/soccer/").headers["ETag"]
    assert client.get("/catalog/hockey/").headers["ETag"] != first
    assert client.get("/catalog/soccer/?after=a").headers["ETag"] != first
    app.config["ITEMS_PER_PAGE"] = 1
    assert client.get("/catalog/soccer/").headers["ETag"] != first


def test_refusals_carry_no_etag(client, seeded):
    for url, status in (("/catalog/nope/", 404), ("/search?q=x&page=0", 400)):
        response = client.get(url)
        assert response.status_code == status, url
        assert "ETag" not in response.headers, url
    # The empty search page shows the categories of its filter: it is validated too.
    assert "ETag" in client.get("/search").headers


def _ball(app) -> Item:
    with app.app_context():
        item = db.session.scalar(db.select(Item).where(Item.slug == "match-ball"))
        db.session.expunge(item)
        return item


def _edit_form(app, **fields) -> dict:
    item = _ball(app)
    return {
        "name": item.name,
        "category": str(item.category_id),
        "description": item.description,
        "image_alt": item.image_alt,
        "version": str(item.version),
        **fields,
    }


def _form_description(app, signed_in, seeded):
    ada = signed_in("ada")
    data = _edit_form(app, description="Now with a pump.")
    assert ada.post("/catalog/soccer/match-ball/edit", data=data).status_code == 302
    return "Now with a pump."


def _api_description(app, signed_in, seeded):
    response = signed_in("ada").patch(
        f"/api/v1/items/{seeded.items['ball']}",
        json={"description": "Now with a pump."},
        headers=seeded.bearer("ada"),
    )
    assert response.status_code == 200
    return "Now with a pump."


def _form_picture(app, signed_in, seeded):
    data = _edit_form(app, picture=(io.BytesIO(solid("JPEG", size=(640, 480))), "ball.jpg"))
    response = signed_in("ada").post(
        "/catalog/soccer/match-ball/edit", data=data, content_type="multipart/form-data"
    )
    assert response.status_code == 302
    return "/images/"


def _api_picture(app, signed_in, seeded):
    response = signed_in("ada").put(
        f"/api/v1/items/{seeded.items['ball']}/image",
        data=solid("PNG", size=(640, 480)),
        headers={**seeded.bearer("ada"), "Content-Type": "image/png"},
    )
    assert response.status_code == 200, response.text
    return "/images/"


def _owner_name(app, signed_in, seeded):
    # What the sign-in callback does with the provider's claims.
    with app.app_context():
        upsert_user(DEMO_ISSUER, "ada", {"name": "Ada Lovelace"})
        db.session.commit()
    return "Ada Lovelace"


def _category_description(app, signed_in, seeded):
    lena = signed_in("lena")
    data = {"name": "Soccer", "description": "Football, to most of the world."}
    assert lena.post("/categories/soccer/edit", data=data).status_code == 302
    return "Football, to most of the world."


# Each change, and the pages that show what it changed (every page gets a new ETag).
CHANGES = {
    "item through the form": (_form_description, ("/catalog/soccer/match-ball/", "/api/v1/items")),
    "item through the API": (_api_description, ("/catalog/soccer/match-ball/", "/catalog.json")),
    "picture through the form": (_form_picture, ("/", "/catalog/soccer/", "/search?q=ball")),
    "picture through the API": (_api_picture, ("/catalog/soccer/match-ball/", "/api/v1/items")),
    "owner's name at sign-in": (_owner_name, ("/catalog/soccer/match-ball/", "/catalog.json")),
    "category through the form": (_category_description, ("/catalog/soccer/", "/catalog.json")),
}


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_no_page_is_stale_after_a_change(app, client, seeded, signed_in, pages, change):
    make, showing = change
    old = etags(client, pages)
    shown = make(app, signed_in, seeded)
    bodies = revalidated(client, old)
    for url in showing:
        assert shown in bodies[url], url
        # Asked for again without a validator: kept when it was rendered after the change.
        assert shown in client.get(url).text, url


def test_the_api_item_is_revalidated_after_its_own_changes(app, client, seeded, signed_in, pages):
    url = pages[-1]
    for make in (_api_description, _api_picture):
        old = etags(client, [url])
        make(app, signed_in, seeded)
        revalidated(client, old)


def test_a_renamed_item_moves_every_page_off_its_old_etag(app, client, seeded, signed_in, pages):
    old = etags(client, pages)
    data = _edit_form(app, name="Game Ball")
    assert signed_in("ada").post("/catalog/soccer/match-ball/edit", data=data).status_code == 302
    for url, etag in old.items():
        response = client.get(url, headers={"If-None-Match": etag})
        assert response.status_code != 304, url
    assert "Game Ball" in client.get("/catalog/soccer/").text
    assert "Game Ball" in client.get("/catalog/latest.atom").text


def test_adding_and_deleting_items_moves_the_marker(app, client, seeded, signed_in):
    ada = signed_in("ada")
    old = etags(client, PAGES)
    data = {"name": "Corner Flag", "category": str(seeded.categories["soccer"])}
    assert ada.post("/catalog/new", data=data).status_code == 302
    assert "Corner Flag" in revalidated(client, old)["/catalog/soccer/"]
    old = etags(client, PAGES)
    assert submit(ada, "/catalog/soccer/corner-flag/delete")[1].status_code == 302
    assert "Corner Flag" not in revalidated(client, old)["/catalog/soccer/"]


def test_rows_written_without_the_orm_move_the_marker(app, client, seeded):
    old = etags(client, PAGES)
    with app.app_context():
        seed_synthetic(30)
    revalidated(client, old)


def test_what_pages_do_not_show_leaves_the_marker(app, client, seeded, signed_in):
    old = etags(client, PAGES)
    ada = signed_in("ada")  # a session row; her name is as it was
    ada.post("/account/tokens", data={"label": "another script"})
    with app.app_context():
        # Sam signs in again, his name and e-mail unchanged.
        claims = {"name": "Sam Okafor", "email": "sam@example.com", "email_verified": True}
        upsert_user(DEMO_ISSUER, "sam", claims)
        db.session.commit()
    for url, etag in old.items():
        assert client.get(url, headers={"If-None-Match": etag}).status_code == 304, url


def test_a_refused_change_leaves_the_marker(app, client, seeded, signed_in):
    with app.app_context():
        before = db.session.get(CatalogState, 1).marker
    stale = _edit_form(app, description="From an old form.", version="0")
    assert signed_in("ada").post("/catalog/soccer/match-ball/edit", data=stale).status_code == 409
    with app.app_context():
        assert db.session.get(CatalogState, 1).marker == before


def test_a_missing_marker_row_is_put_back_by_the_next_change(app, client, seeded, signed_in):
    with app.app_context():
        db.session.execute(db.delete(CatalogState))
        db.session.commit()
    old = etags(client, PAGES)
    _api_description(app, signed_in, seeded)
    revalidated(client, old)
    with app.app_context():
        assert len(db.session.get(CatalogState, 1).marker) == 32


def test_a_read_etag_still_names_its_version_for_if_match(app, client, seeded, signed_in):
    url = f"/api/v1/items/{seeded.items['ball']}"
    read = client.get(url).headers["ETag"]
    _category_description(app, signed_in, seeded)  # the catalog moves on, the ball does not
    assert client.get(url, headers={"If-None-Match": read}).status_code == 200
    changed = client.patch(
        url, json={"description": "Mine."}, headers={**seeded.bearer("ada"), "If-Match": read}
    )
    assert changed.status_code == 200
    again = client.patch(
        url, json={"description": "Again."}, headers={**seeded.bearer("ada"), "If-Match": read}
    )
    assert again.status_code == 412


def test_a_page_asked_for_again_is_served_as_rendered_without_the_view(
    app, client, seeded, count_queries
):
    for url in (*PAGES[:4], "/api/v1/items?limit=1"):
        first = client.get(url)
        with count_queries() as queries:
            again = client.get(url)
        assert len(queries) == 1, (url, queries)  # the marker alone
        assert again.status_code == 200
        assert again.data == first.data, url
        for name in ("ETag", "Cache-Control", "Content-Type", "Link"):
            assert again.headers.get(name) == first.headers.get(name), (url, name)
    assert 'rel="next"' in client.get("/api/v1/items?limit=1").headers["Link"]


def test_signed_in_pages_and_streams_are_never_kept(app, seeded, signed_in, client):
    ada = signed_in("ada")
    for url in PAGES[:4]:
        ada.get(url)
    client.get("/catalog.json").get_data()
    assert len(app.extensions[caching.PAGES_EXTENSION]._pages) == 0
    client.get("/")
    assert len(app.extensions[caching.PAGES_EXTENSION]._pages) == 1
    assert "Ada Brooks" not in client.get("/").text


def test_nothing_is_kept_without_the_marker_row(app, client, seeded, count_queries):
    with app.app_context():
        db.session.execute(db.delete(CatalogState))
        db.session.commit()
    client.get("/")
    with count_queries() as queries:
        assert client.get("/").status_code == 200
    assert len(queries) > 1


def test_pages_are_kept_in_redis_with_an_expiry(make_app, database_url, redis_server, seeded):
    app = make_app(SQLALCHEMY_DATABASE_URI=database_url, REDIS_URL=redis_server.url)
    first = app.test_client().get("/catalog/soccer/")
    keys = list(redis_server.client().scan_iter(caching.REDIS_PREFIX + "*"))
    assert len(keys) == 1
    assert 0 < redis_server.client().ttl(keys[0]) <= caching.PAGE_SECONDS
    # Another process of the same release finds it there.
    other = make_app(SQLALCHEMY_DATABASE_URI=database_url, REDIS_URL=redis_server.url)
    with other.app_context():
        # Behind the marker's back, so that only a kept page still shows the old name.
        db.session.execute(text("UPDATE items SET name = 'Renamed in SQL'"))
        db.session.commit()
    again = other.test_client().get("/catalog/soccer/")
    assert again.data == first.data
    assert "Match Ball" in again.text


@pytest.mark.slow
def test_a_hung_redis_costs_one_request_a_timeout_not_each(
    make_app, database_url, hung_redis, seeded, caplog
):
    app = make_app(SQLALCHEMY_DATABASE_URI=database_url, REDIS_URL=hung_redis.url)
    client = app.test_client()
    started = time.monotonic()
    # The API's item first, which keeps its reads in the same store as the pages: its
    # call meets the hung Redis, and the pages after it go without.
    for _ in range(5):
        for url in (f"/api/v1/items/{seeded.items['ball']}", "/catalog/soccer/"):
            assert client.get(url).status_code == 200, url
    assert time.monotonic() - started < 1
    assert "rendering without it" in caplog.text


def test_a_process_keeps_its_most_recent_pages_within_its_bytes():
    kept = caching.MemoryPages(size=10)
    kept.set("a", b"1234")
    kept.set("b", b"1234")
    assert kept.get("a") == b"1234"  # now the most recent
    kept.set("c", b"1234")
    assert (kept.get("a"), kept.get("b"), kept.get("c")) == (b"1234", None, b"1234")
    kept.set("c", b"12")
    assert kept.used == 6


def test_the_api_item_is_kept_as_read_and_never_served_stale(
    app, client, seeded, signed_in, pages, count_queries
):
    url = pages[-1]
    first = client.get(url)
    with count_queries() as queries:
        again = client.get(url)
    assert len(queries) == 1, queries  # the marker alone, not the item
    assert again.data == first.data
    for name in ("ETag", "Cache-Control", "Content-Type", "Link"):
        assert again.headers.get(name) == first.headers.get(name), name
    # A kept read still answers If-None-Match: * and a weak copy of its tag with 304.
    assert client.get(url, headers={"If-None-Match": "*"}).status_code == 304
    weak = "W/" + first.headers["ETag"]
    assert client.get(url, headers={"If-None-Match": weak}).status_code == 304
    for make in (_form_description, _owner_name, _category_description):
        shown = make(app, signed_in, seeded)
        after = client.get(url)
        assert after.headers["ETag"] != first.headers["ETag"], make.__name__
        if make is not _category_description:  # the item shows its category's name only
            assert shown in after.text, make.__name__
