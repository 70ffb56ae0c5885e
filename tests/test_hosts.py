"""``ALLOWED_HOSTS``: any other ``Host`` gets 400 before anything else, and no URL names it."""

import uuid
from urllib.parse import parse_qs, urlsplit

import feedparser
import pytest
import requests
from sqlalchemy import func, select
from support.api_data import seed_api_catalog
from support.gunicorn_server import gunicorn
from support.oidc_provider import QUIET_PROVIDER

from catalog.config import ConfigError, allowed_hosts
from catalog.extensions import db
from catalog.models import IdempotencyKey, Item

pytestmark = QUIET_PROVIDER

HOST = "catalog.example"
EVIL = "evil.example"
ALLOWED = f"{HOST}, *.shop.example"
PROBLEM = "application/problem+json"
HTTPS = {"X-Forwarded-Proto": "https"}
SECRET = "0d6f3a9c2b7e4f1a8c5d0e3b6a9f2c7d4e1b8a5f0c3d6e9b2a7f4c1d8e5b0a3f"

PAGES = [
    "/",
    "/catalog/soccer/",
    "/catalog/soccer/match-ball/",
    "/search?q=ball",
    "/login",
    "/account",
    "/catalog/new",
    "/healthz",
    "/static/catalog.css",
    "/catalog.json",
    "/catalog/latest.atom",
    "/no-such-page",
]
API_READS = ["/api/v1/categories", "/api/v1/items", "/api/v1/items?limit=1", "/api/v1/openapi.json"]


def on(host: str, **headers) -> dict:
    return {"Host": host, **headers}


@pytest.fixture
def seeded(app):
    return seed_api_catalog(app)


@pytest.fixture
def guarded(make_app, app, seeded):
    """Return a factory of apps on the seeded test database answering for ``ALLOWED``."""

    def make(**settings):
        return make_app(
            SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
            ALLOWED_HOSTS=ALLOWED,
            **settings,
        )

    return make


@pytest.fixture
def production(guarded, monkeypatch):
    """Return a factory of apps configured as in production (HTTPS forced, one proxy)."""
    for name in ("FLASK_DEBUG", "FORCE_HTTPS", "TRUSTED_PROXIES", "ALLOWED_HOSTS"):
        monkeypatch.delenv(name, raising=False)
    return lambda **settings: guarded(TESTING=False, SECRET_KEY=SECRET, **settings)


def assert_refused_page(response):
    page = response.get_data(as_text=True)
    assert response.status_code == 400, page
    assert response.mimetype == "text/html"
    assert "<h1>Bad request</h1>" in page
    assert "host name" in page
    assert EVIL not in page
    assert "Location" not in response.headers


def assert_refused_problem(response):
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    problem = response.get_json()
    assert problem["status"] == 400
    assert "host name" in problem["detail"]
    assert EVIL not in response.get_data(as_text=True)


def items(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Item))


def create(client, seeded, key=None, **headers):
    body = {"category": "soccer", "name": "Corner Flag", "description": "Set of four."}
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post("/api/v1/items", json=body, headers={**seeded.bearer("ada"), **headers})


# Settings


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("catalog.example", ["catalog.example"]),
        (" Catalog.Example , www.catalog.example,", ["catalog.example", "www.catalog.example"]),
        ("*.herokuapp.com,.example.org", [".herokuapp.com", ".example.org"]),
        ("bücher.example", ["xn--bcher-kva.example"]),
        ("10.0.0.7,localhost", ["10.0.0.7", "localhost"]),
        (["a.example", "*.b.example"], ["a.example", ".b.example"]),
        (None, None),
        ("", None),
        (" , ", None),
    ],
)
def test_allowed_hosts_become_werkzeugs_trusted_hosts(given, expected):
    assert allowed_hosts(given) == expected


@pytest.mark.parametrize(
    "given",
    [
        "https://catalog.example",
        "catalog.example/",
        "catalog.example:443",
        "*",
        "*.",
        "a*.example",
        "*a.example",
        "catalog..example",
        "cat alog.example",
        "-catalog.example",
        "[::1]",
    ],
)
def test_what_is_not_a_host_name_is_refused_in_one_line(make_app, given):
    with pytest.raises(ConfigError) as info:
        make_app(ALLOWED_HOSTS=f"good.example,{given}")
    message = str(info.value)
    assert message.startswith("ALLOWED_HOSTS:")
    assert repr(given.strip()) in message
    assert "\n" not in message


def test_the_environment_sets_them(make_app, monkeypatch):
    monkeypatch.setenv("ALLOWED_HOSTS", "my-catalog.herokuapp.com,*.example.com")
    app = make_app()
    assert app.config["TRUSTED_HOSTS"] == ["my-catalog.herokuapp.com", ".example.com"]
    assert app.test_client().get("/healthz", headers=on(EVIL)).status_code == 400


# Refused hosts


@pytest.mark.backend_independent
@pytest.mark.parametrize("path", PAGES)
def test_pages_for_another_host_get_a_plain_400(guarded, path):
    assert_refused_page(guarded().test_client().get(path, headers=on(EVIL)))


@pytest.mark.backend_independent
@pytest.mark.parametrize("path", API_READS + ["/api/v1/items/1", "/api/v1/nothing"])
def test_api_reads_for_another_host_get_a_problem(guarded, path):
    assert_refused_problem(guarded().test_client().get(path, headers=on(EVIL)))


def test_api_writes_for_another_host_change_nothing(guarded, seeded):
    app = guarded()
    client = app.test_client()
    before = items(app)
    assert_refused_problem(create(client, seeded, str(uuid.uuid4()), Host=EVIL))
    item = f"/api/v1/items/{seeded.items['ball']}"
    assert_refused_problem(
        client.patch(item, json={"name": "Forged"}, headers={**seeded.bearer("ada"), "Host": EVIL})
    )
    assert_refused_problem(client.delete(item, headers={**seeded.bearer("ada"), "Host": EVIL}))
    assert items(app) == before
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(IdempotencyKey)) == 0
    assert client.get(item, headers=on(HOST)).get_json()["name"] == "Match Ball"


@pytest.mark.backend_independent
@pytest.mark.parametrize(
    "host", ["shop.example.evil.example", "evilshop.example", "catalog.example.evil.example"]
)
def test_names_that_only_look_allowed_are_refused(guarded, host):
    response = guarded().test_client().get("/", headers=on(host))
    assert response.status_code == 400
    assert host not in response.get_data(as_text=True)


@pytest.mark.backend_independent
def test_the_trailing_slash_redirect_is_not_made_for_another_host(guarded):
    client = guarded().test_client()
    assert_refused_page(client.get("/catalog/soccer", headers=on(EVIL)))
    honest = client.get("/catalog/soccer", headers=on(HOST))
    assert honest.status_code == 308
    assert honest.headers["Location"] == f"http://{HOST}/catalog/soccer/"


def test_the_https_redirect_is_not_made_for_another_host(production):
    app = production()
    assert app.config["FORCE_HTTPS"] is True
    client = app.test_client()
    assert_refused_page(client.get("/catalog/soccer/?after=a", headers=on(EVIL)))
    assert_refused_problem(client.get("/api/v1/items", headers=on(EVIL)))
    assert_refused_page(client.get("/catalog/soccer/", headers=on(EVIL, **HTTPS)))
    honest = client.get("/catalog/soccer/?after=a", headers=on(HOST))
    assert honest.status_code == 301
    assert honest.headers["Location"] == f"https://{HOST}/catalog/soccer/?after=a"
    assert client.get("/catalog/soccer/", headers=on(HOST, **HTTPS)).status_code == 200


@pytest.mark.backend_independent
def test_sign_in_is_not_started_for_another_host(guarded, oidc_provider):
    app = guarded(
        OIDC_ISSUER=oidc_provider.issuer,
        OIDC_CLIENT_ID="catalog-tests",
        OIDC_CLIENT_SECRET="not-a-real-secret",
    )
    client = app.test_client()
    assert_refused_page(client.get("/login/oidc?next=/account", headers=on(EVIL)))
    assert_refused_page(client.get("/login/callback?code=a&state=b", headers=on(EVIL)))

    honest = client.get("/login/oidc?next=/account", headers=on(HOST))
    assert honest.status_code == 302
    authorize = urlsplit(honest.headers["Location"])
    assert honest.headers["Location"].startswith(f"{oidc_provider.issuer}/")
    assert parse_qs(authorize.query)["redirect_uri"] == [f"http://{HOST}/login/callback"]


# Allowed hosts


@pytest.mark.parametrize(
    ("host", "origin"),
    [
        (HOST, f"http://{HOST}"),
        (f"{HOST}:8000", f"http://{HOST}:8000"),
        (f"{HOST}:443", f"http://{HOST}:443"),
        ("shop.example", "http://shop.example"),
        ("eu.shop.example", "http://eu.shop.example"),
    ],
)
def test_allowed_hosts_with_or_without_a_port_are_served(guarded, seeded, host, origin):
    client = guarded().test_client()
    assert client.get("/", headers=on(host)).status_code == 200
    item = client.get(f"/api/v1/items/{seeded.items['ball']}", headers=on(host)).get_json()
    assert item["url"] == f"{origin}/catalog/soccer/match-ball/"
    assert item["api_url"] == f"{origin}/api/v1/items/{seeded.items['ball']}"


def test_the_standard_port_behind_the_router_is_the_bare_host(production):
    response = production().test_client().get("/api/v1/items", headers=on(f"{HOST}:443", **HTTPS))
    assert response.status_code == 200
    assert response.get_json()["items"][0]["url"].startswith(f"https://{HOST}/catalog/")


def test_every_link_names_the_allowed_host_asked_for(guarded, seeded):
    client = guarded().test_client()
    host = "eu.shop.example"
    whole = client.get("/catalog.json", headers=on(host)).get_json()
    urls = [c["url"] for c in whole["categories"]]
    urls += [i[k] for c in whole["categories"] for i in c["items"] for k in ("url", "api_url")]
    assert urls
    assert all(url.startswith(f"http://{host}/") for url in urls), urls

    feed = feedparser.parse(client.get("/catalog/latest.atom", headers=on(host)).get_data())
    assert feed.feed.id == "tag:eu.shop.example,2025:catalog/latest"
    assert {link.href for link in feed.feed.links} == {
        f"http://{host}/catalog/latest.atom",
        f"http://{host}/",
    }
    assert all(entry.id.startswith("tag:eu.shop.example,") for entry in feed.entries)
    assert all(entry.link.startswith(f"http://{host}/catalog/") for entry in feed.entries)

    page = client.get("/api/v1/items?limit=1", headers=on(host))
    assert page.get_json()["next"].startswith(f"http://{host}/api/v1/items?")
    assert page.headers["Link"] == f'<{page.get_json()["next"]}>; rel="next"'
    created = create(client, seeded, Host=host)
    assert created.status_code == 201
    assert created.headers["Location"] == created.get_json()["api_url"]
    assert created.headers["Location"].startswith(f"http://{host}/api/v1/items/")


# Without ALLOWED_HOSTS


def test_without_allowed_hosts_development_serves_any_host(client, seeded):
    response = client.get(f"/api/v1/items/{seeded.items['ball']}", headers=on(EVIL))
    assert response.status_code == 200
    assert response.get_json()["url"] == f"http://{EVIL}/catalog/soccer/match-ball/"


def test_without_allowed_hosts_production_still_serves(make_app, app, seeded, monkeypatch):
    for name in ("FLASK_DEBUG", "FORCE_HTTPS", "TRUSTED_PROXIES", "ALLOWED_HOSTS"):
        monkeypatch.delenv(name, raising=False)
    production = make_app(
        TESTING=False,
        SECRET_KEY=SECRET,
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
    )
    assert production.config["TRUSTED_HOSTS"] is None
    response = production.test_client().get("/", headers=on("my-catalog.herokuapp.com", **HTTPS))
    assert response.status_code == 200


# Under gunicorn


@pytest.mark.slow
def test_gunicorn_in_production_refuses_another_host(tmp_path, database_url):
    settings = {"ALLOWED_HOSTS": HOST, "FORCE_HTTPS": True, "TRUSTED_PROXIES": 1}
    with gunicorn(tmp_path, database_url, settings=settings) as server:

        def get(path, host, **headers):
            return requests.get(
                f"{server.url}{path}",
                headers={"Host": host, **headers},
                allow_redirects=False,
                timeout=10,
            )

        refused = get("/catalog/soccer/", EVIL)
        assert refused.status_code == 400
        assert "<h1>Bad request</h1>" in refused.text
        assert "Location" not in refused.headers
        problem = get("/api/v1/items", EVIL, **HTTPS)
        assert problem.status_code == 400
        assert problem.headers["Content-Type"] == PROBLEM
        assert get("/healthz", EVIL, **HTTPS).status_code == 400

        redirected = get("/catalog/soccer/", f"{HOST}:80")
        assert redirected.status_code == 301
        assert redirected.headers["Location"] == f"https://{HOST}/catalog/soccer/"
        assert get("/healthz", HOST, **HTTPS).status_code == 200
        assert get("/healthz", f"{HOST}:443", **HTTPS).status_code == 200
    assert "Traceback" not in server.log()
