"""The small things a person notices: the favicon, GET /logout, breadcrumbs, one search box,
and one log line per request from the dev server."""

import logging
import re

import pytest
import requests
from support.html_forms import csrf_token
from support.sign_in import AuthActions
from support.werkzeug_server import serve

from catalog.seed import seed_demo


@pytest.fixture
def demo(app):
    with app.app_context():
        seed_demo()


@pytest.mark.backend_independent
def test_every_page_links_the_favicon_which_browsers_keep(client):
    page = client.get("/login").get_data(as_text=True)
    assert '<link rel="icon" type="image/svg+xml" href="/static/favicon.svg">' in page
    with client.get("/static/favicon.svg") as icon:
        assert icon.status_code == 200
        assert icon.mimetype == "image/svg+xml"
        assert icon.data.startswith(b"<svg ")
        assert icon.cache_control.public
        assert icon.cache_control.max_age == 7 * 24 * 3600
    # The stylesheet changes under the same URL with the code: it is checked every time.
    with client.get("/static/catalog.css") as stylesheet:
        assert stylesheet.cache_control.max_age is None
        assert stylesheet.cache_control.no_cache


@pytest.mark.backend_independent
def test_a_kept_favicon_is_revalidated_as_kept(client):
    with client.get("/static/favicon.svg") as first:
        etag = first.headers["ETag"]
    with client.get("/static/favicon.svg", headers={"If-None-Match": etag}) as again:
        assert again.status_code == 304
        assert again.cache_control.max_age == 7 * 24 * 3600


def test_get_logout_offers_a_sign_out_form_with_its_csrf_token(app):
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    assert AuthActions(client).login("ada").status_code == 302
    response = client.get("/logout")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert re.search(r'<form method="post" action="/logout" class="card">', page)
    assert "You are signed in as Ada Brooks." in page
    token = csrf_token(page)
    # The form signs out: the account page then asks to sign in.
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/account").status_code == 302


def test_get_logout_signed_out_goes_home(client):
    response = client.get("/logout")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def crumbs(page: str) -> str:
    match = re.search(r'<nav class="crumbs" aria-label="Breadcrumb">(.*?)</nav>', page, re.S)
    assert match is not None
    return " ".join(match.group(1).split())


def test_breadcrumbs_end_with_their_last_link_not_a_slash(app, client, auth, demo):
    category = crumbs(client.get("/catalog/soccer/").get_data(as_text=True))
    assert category == '<a href="/">Catalog</a>'
    item = crumbs(client.get("/catalog/soccer/match-ball/").get_data(as_text=True))
    assert item == '<a href="/">Catalog</a> / <a href="/catalog/soccer/">Soccer</a>'
    app.config["CATALOG_ADMINS"] = frozenset({"ada@example.com"})
    auth.login("ada")
    for path in (
        "/catalog/soccer/match-ball/edit",
        "/catalog/soccer/match-ball/delete",
        "/categories/soccer/edit",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        assert crumbs(response.get_data(as_text=True)).endswith("</a>"), path


def test_the_search_page_has_one_search_box(client):
    page = client.get("/search").get_data(as_text=True)
    assert page.count('type="search"') == 1
    assert page.count('role="search"') == 1
    assert 'id="search-page-q"' in page
    # Every other page has the header's.
    assert client.get("/login").get_data(as_text=True).count('type="search"') == 1


def test_the_dev_server_logs_each_request_once(app, caplog):
    caplog.set_level(logging.INFO)
    with serve(app) as url:
        assert requests.get(f"{url}/catalog/no-such-category/", timeout=10).status_code == 404
        logging.getLogger("werkzeug").info(" * Running on %s", url)
    lines = [r for r in caplog.records if "no-such-category" in r.getMessage()]
    assert [r.name for r in lines] == ["catalog.requests"]
    # The dev server's other lines stay.
    assert any(r.name == "werkzeug" and "Running on" in r.getMessage() for r in caplog.records)


def test_the_new_pages_cost_a_fixed_few_queries(app, signed_in, count_queries):
    ada = signed_in("ada")
    created = ada.post("/account/tokens", data={"label": "counted"})
    assert created.status_code == 200
    revoke = re.search(r'href="(/account/tokens/\d+/revoke)"', ada.get("/account").text)
    assert revoke is not None
    # The signed-in user (session and user: one query), then the page's own.
    for path, bound in (("/logout", 1), (revoke.group(1), 2)):
        with count_queries() as queries:
            assert ada.get(path).status_code == 200
        assert len(queries) <= bound, (path, queries)
