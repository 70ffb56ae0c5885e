"""Production configuration: HTTPS, headers, cookies, no dev sign-in, request logs."""

import logging
import re
from pathlib import Path

import pytest
from flask import request, session, url_for
from sqlalchemy import select
from support.api_data import seed_api_catalog

from catalog import create_app
from catalog.extensions import db
from catalog.models import Item
from catalog.seed import seed_demo

TEMPLATES = Path(__file__).resolve().parent.parent / "catalog" / "templates"
SECRET = "8f1c0a7e5b2d4c6e9a3f1b7d0c5e2a4f6b8d1e3c5a7f9b0d2e4c6a8f1b3d5e7c"
HTTPS = {"X-Forwarded-Proto": "https"}


@pytest.fixture
def production(app, monkeypatch):
    """Return a factory of apps configured as in production, on the test database."""
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    monkeypatch.delenv("FORCE_HTTPS", raising=False)
    monkeypatch.delenv("TRUSTED_PROXIES", raising=False)
    database = app.config["SQLALCHEMY_DATABASE_URI"]
    made = []

    def make(**settings):
        made.append(
            create_app({"SECRET_KEY": SECRET, "SQLALCHEMY_DATABASE_URI": database, **settings})
        )
        return made[-1]

    yield make
    for each in made:
        with each.app_context():
            db.engine.dispose()


@pytest.fixture
def demo(app):
    with app.app_context():
        seed_demo()


@pytest.mark.backend_independent
def test_production_settings_are_strict(production):
    app = production()
    assert app.debug is False
    assert app.testing is False
    assert app.config["FORCE_HTTPS"] is True
    assert app.config["TRUSTED_PROXIES"] == 1
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.config["DEV_LOGIN"] is False


@pytest.mark.backend_independent
def test_plain_http_behind_the_router_is_redirected_to_https(production, demo):
    client = production().test_client()
    response = client.get("/catalog/soccer/?after=a", headers={"X-Forwarded-Proto": "http"})
    assert response.status_code == 301
    assert response.headers["Location"] == "https://localhost/catalog/soccer/?after=a"


@pytest.fixture
def api_catalog(app):
    return seed_api_catalog(app)


def rows(app):
    with app.app_context():
        return db.session.execute(select(Item.id, Item.name, Item.version).order_by(Item.id)).all()


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/v1/items", {"category": "soccer", "name": "Flag"}),
        ("PATCH", "/api/v1/items/{ball}", {"name": "Flag"}),
        ("PUT", "/api/v1/items/{ball}", {"name": "Flag"}),
        ("DELETE", "/api/v1/items/{ball}", None),
    ],
)
def test_a_plain_http_api_write_is_refused_not_redirected(
    app, production, api_catalog, method, path, body
):
    """A redirect would come after the token went in clear, and invite a silent resend."""
    before = rows(app)
    response = (
        production()
        .test_client()
        .open(
            path.format(ball=api_catalog.items["ball"]),
            method=method,
            json=body,
            headers={**api_catalog.bearer("ada"), "X-Forwarded-Proto": "http"},
        )
    )
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert "Location" not in response.headers
    detail = response.get_json()["detail"]
    assert "https://localhost/api/v1/" in detail
    assert "revoke it at https://localhost/account" in detail
    assert rows(app) == before


@pytest.mark.backend_independent
def test_a_plain_http_api_write_without_a_token_says_to_use_https(production, api_catalog):
    response = (
        production()
        .test_client()
        .post("/api/v1/items", json={}, headers={"X-Forwarded-Proto": "http"})
    )
    assert response.status_code == 400
    detail = response.get_json()["detail"]
    assert "https://localhost/api/v1/items" in detail
    assert "revoke" not in detail


@pytest.mark.backend_independent
@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/api/v1/items?limit=5"), ("HEAD", "/api/v1/categories"), ("POST", "/logout")],
)
def test_plain_http_api_reads_and_page_writes_are_still_redirected(
    production, api_catalog, method, path
):
    response = (
        production().test_client().open(path, method=method, headers={"X-Forwarded-Proto": "http"})
    )
    assert response.status_code == 301
    assert response.headers["Location"] == f"https://localhost{path}"


def test_api_writes_over_https_or_without_force_https_go_through(
    production, api_catalog, monkeypatch
):
    body = {"category": "soccer", "name": "Flag"}
    secure = production().test_client()
    response = secure.post(
        "/api/v1/items", json=body, headers={**api_catalog.bearer("ada"), **HTTPS}
    )
    assert response.status_code == 201
    monkeypatch.setenv("FORCE_HTTPS", "0")
    plain = production().test_client()
    body["name"] = "Pole"
    response = plain.post("/api/v1/items", json=body, headers=api_catalog.bearer("ada"))
    assert response.status_code == 201


def test_https_behind_the_router_is_served_with_hsts(production, demo):
    response = production().test_client().get("/", headers=HTTPS)
    assert response.status_code == 200
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


@pytest.mark.parametrize("url", ["/", "/catalog/soccer/", "/catalog/soccer/match-ball/", "/nope"])
def test_security_headers_are_sent(production, demo, url):
    headers = production().test_client().get(url, headers=HTTPS).headers
    policy = dict(
        part.strip().split(" ", 1) for part in headers["Content-Security-Policy"].split(";")
    )
    assert policy["default-src"] == "'self'"
    assert policy["img-src"] == "'self'"  # item pictures are served here; no profile photos
    assert "script-src" not in policy  # falls back to 'self': no inline script, no eval
    assert policy["object-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_debug_and_testing_serve_plain_http(client):
    response = client.get("/healthz", headers={"X-Forwarded-Proto": "http"})
    assert response.status_code == 200
    assert "Strict-Transport-Security" not in response.headers
    # The policy still applies, so development shows what production would block.
    assert "Content-Security-Policy" in response.headers


def test_force_https_can_be_turned_off_for_a_local_run(production, monkeypatch):
    monkeypatch.setenv("FORCE_HTTPS", "0")
    response = production().test_client().get("/healthz")
    assert response.status_code == 200


@pytest.mark.backend_independent
def test_bad_force_https_value_is_refused_in_one_line(production, monkeypatch):
    monkeypatch.setenv("FORCE_HTTPS", "sometimes")
    with pytest.raises(SystemExit, match="FORCE_HTTPS must be on or off"):
        production()


@pytest.mark.backend_independent
def test_session_cookie_is_secure_http_only_and_lax(production):
    app = production()

    @app.get("/remember")
    def remember():
        session["seen"] = True
        return "ok"

    cookie = app.test_client().get("/remember", headers=HTTPS).headers["Set-Cookie"]
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"secure", "httponly"} <= attributes
    assert "SameSite=Lax" in cookie


@pytest.mark.backend_independent
def test_router_addresses_and_scheme_are_trusted(production):
    app = production()

    @app.get("/whoami")
    def whoami():
        return {"addr": request.remote_addr, "url": url_for("catalog.index", _external=True)}

    body = (
        app.test_client()
        .get("/whoami", headers={**HTTPS, "X-Forwarded-For": "203.0.113.9"})
        .get_json()
    )
    assert body == {"addr": "203.0.113.9", "url": "https://localhost/"}


@pytest.mark.backend_independent
def test_no_dev_sign_in_in_production(production, make_app):
    # Whatever dev sign-in routes a development app has are gone in production.
    development = make_app()
    dev_rules = [
        rule.rule
        for rule in development.url_map.iter_rules()
        if "dev" in rule.endpoint.lower() or "dev" in rule.rule.lower()
    ]
    # Without CSRF, so that a POST reaches the view rather than stopping at the token check.
    app = production(WTF_CSRF_ENABLED=False)
    assert app.config["DEV_LOGIN"] is False
    assert dev_rules, "expected the dev sign-in route of a development app"
    client = app.test_client()
    for rule in dev_rules:
        path = re.sub(r"<[^>]+>", "1", rule)
        for method in ("GET", "POST"):
            response = client.open(path, method=method, headers=HTTPS)
            assert response.status_code == 404, (method, path)


@pytest.mark.backend_independent
def test_errors_are_pages_without_stack_traces(production):
    app = production()

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals")

    response = app.test_client().get("/boom", headers=HTTPS)
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Traceback" not in page
    assert "secret internals" not in page
    assert "<html" in page


@pytest.mark.parametrize("template", sorted(TEMPLATES.rglob("*.html")), ids=str)
def test_templates_have_no_inline_script_or_style(template):
    # The Content Security Policy blocks these: they would work in no browser.
    source = template.read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", source), "inline <script>"
    assert not re.search(r"\son[a-z]+\s*=", source), "inline event handler"
    assert not re.search(r"<style\b|\sstyle\s*=", source), "inline style"
    assert "javascript:" not in source


def test_every_request_is_logged_once_with_its_id(client, caplog):
    caplog.set_level(logging.INFO, logger="catalog.requests")
    response = client.get("/catalog/nope/", headers={"X-Request-ID": "router-id-0123456789"})
    assert response.headers["X-Request-ID"] == "router-id-0123456789"
    lines = [r.getMessage() for r in caplog.records if r.name == "catalog.requests"]
    assert len(lines) == 1
    assert re.fullmatch(
        r"method=GET path=/catalog/nope/ status=404 duration=\d+\.\dms "
        r"request_id=router-id-0123456789",
        lines[0],
    )


@pytest.mark.parametrize("given", [None, "", "evil\tline", "a;b", "has space", "x" * 201])
def test_missing_or_unsafe_request_id_is_replaced(client, caplog, given):
    caplog.set_level(logging.INFO, logger="catalog.requests")
    headers = {} if given is None else {"X-Request-ID": given}
    generated = client.get("/healthz", headers=headers).headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    assert caplog.records[-1].getMessage().endswith(f"request_id={generated}")


def test_logged_path_is_quoted_and_leaves_out_the_query(client, caplog):
    caplog.set_level(logging.INFO, logger="catalog.requests")
    client.get('/catalog/a b"c/?code=sign-in-secret')
    line = caplog.records[-1].getMessage()
    assert 'path="/catalog/a b\\"c/"' in line
    assert "sign-in-secret" not in line
