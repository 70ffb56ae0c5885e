"""Every request that changes something needs the CSRF token of its own session."""

import pytest
from sqlalchemy import select
from support.html_forms import csrf_token

from catalog.changes import add_category, add_item
from catalog.demo import DEMO_ISSUER
from catalog.extensions import db
from catalog.models import Category, Item, User, UserSession

# Each state-changing route, filled in, with the form data that makes it succeed.
ROUTES = {
    "/login/dev": ("/login/dev", {"subject": "sam"}),
    "/logout": ("/logout", {}),
    "/account/sign-out-everywhere": ("/account/sign-out-everywhere", {}),
    "/catalog/new": ("/catalog/new", {"name": "Shin Guards", "category": "{soccer}"}),
    "/catalog/<category_slug>/<item_slug>/edit": (
        "/catalog/soccer/match-ball/edit",
        {"name": "Match Ball", "category": "{soccer}", "description": "New.", "version": "1"},
    ),
    "/catalog/<category_slug>/<item_slug>/delete": (
        "/catalog/soccer/match-ball/delete",
        {"version": "1"},
    ),
    "/categories/new": ("/categories/new", {"name": "Cycling"}),
    "/categories/<category_slug>/edit": ("/categories/hockey/edit", {"name": "Ice Hockey"}),
    "/categories/<category_slug>/delete": ("/categories/hockey/delete", {}),
}
HTML_BLUEPRINTS = ("auth", "manage", "catalog")


@pytest.fixture
def csrf_app(app):
    """CSRF on, as in production; Lena is an admin who owns the Match Ball."""
    app.config["WTF_CSRF_ENABLED"] = True
    app.config["CATALOG_ADMINS"] = frozenset({"lena@example.com"})
    with app.app_context():
        lena = User(issuer=DEMO_ISSUER, subject="lena", email="lena@example.com", name="Lena")
        soccer = add_category("Soccer")
        add_category("Hockey")
        add_item(lena, soccer, "Match Ball", "Old.")
        db.session.commit()
    return app


def client_for(app, rule):
    """Return a client in the state the route expects (signed out for dev sign-in)."""
    client = app.test_client()
    if rule != "/login/dev":
        page = client.get("/login").get_data(as_text=True)
        client.post("/login/dev", data={"subject": "lena", "csrf_token": csrf_token(page)})
    return client


def own_token(client):
    return csrf_token(client.get("/login", follow_redirects=True).get_data(as_text=True))


def snapshot(app):
    with app.app_context():
        return (
            db.session.execute(
                select(Item.name, Item.description, Item.version).order_by(Item.id)
            ).all(),
            db.session.execute(select(Category.name).order_by(Category.id)).all(),
            db.session.execute(
                select(User.subject, UserSession.id).join(User.sessions).order_by(UserSession.id)
            ).all(),
        )


def form_data(app, rule):
    url, data = ROUTES[rule]
    with app.app_context():
        soccer = str(db.session.scalar(select(Category.id).where(Category.slug == "soccer")))
    return url, {k: v.replace("{soccer}", soccer) for k, v in data.items()}


@pytest.mark.backend_independent
def test_every_state_changing_page_route_is_covered(app):
    changing = {
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.methods & {"POST", "PUT", "PATCH", "DELETE"}
        and rule.endpoint.partition(".")[0] in HTML_BLUEPRINTS
    }
    assert changing == set(ROUTES)


@pytest.mark.backend_independent
def test_every_state_changing_route_outside_the_api_needs_a_token(csrf_app):
    """Sweep the whole URL map, so routes added later are held to the same rule.

    Only the JSON API is exempt: it authenticates with bearer tokens, which a
    browser never attaches on its own.
    """
    urls = csrf_app.url_map.bind("localhost")
    checked = []
    for rule in csrf_app.url_map.iter_rules():
        methods = rule.methods & {"POST", "PUT", "PATCH", "DELETE"}
        if not methods or rule.rule.startswith("/api/"):
            continue
        url = urls.build(rule.endpoint, dict.fromkeys(rule.arguments, 1))
        for method in methods:
            response = csrf_app.test_client().open(url, method=method)
            assert response.status_code == 400, (method, url)
            assert "CSRF token is missing" in response.get_data(as_text=True)
            checked.append(url)
    assert len(checked) >= len(ROUTES)


@pytest.mark.parametrize("rule", ROUTES)
@pytest.mark.parametrize("token", ["missing", "empty", "forged", "another session's"])
def test_state_changing_route_refuses_a_bad_token(csrf_app, rule, token):
    client = client_for(csrf_app, rule)
    url, data = form_data(csrf_app, rule)
    if token == "empty":
        data["csrf_token"] = ""
    elif token == "forged":
        data["csrf_token"] = own_token(client)[:-4] + "AAAA"
    elif token == "another session's":
        data["csrf_token"] = own_token(client_for(csrf_app, rule))
    before = snapshot(csrf_app)

    response = client.post(url, data=data)

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "<h1>Bad request</h1>" in page
    assert "CSRF" in page
    assert snapshot(csrf_app) == before


@pytest.mark.parametrize("rule", ROUTES)
def test_state_changing_route_accepts_its_own_token(csrf_app, rule):
    client = client_for(csrf_app, rule)
    url, data = form_data(csrf_app, rule)
    before = snapshot(csrf_app)

    response = client.post(url, data={**data, "csrf_token": own_token(client)})

    assert response.status_code == 302
    assert snapshot(csrf_app) != before
