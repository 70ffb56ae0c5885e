"""Admins create, rename and delete categories; nobody else can."""

import pytest
from sqlalchemy import select
from support.html_forms import csrf_token, submit

from catalog.changes import add_category, add_item
from catalog.demo import DEMO_ISSUER
from catalog.extensions import db
from catalog.models import Category, User

WHO = ["anonymous", "member", "admin"]
SUBJECT = {"member": "sam", "admin": "lena"}


@pytest.fixture
def categories(app):
    """An empty Hockey and a Soccer holding one item; Lena is an admin."""
    app.config["CATALOG_ADMINS"] = frozenset({"lena@example.com"})
    with app.app_context():
        ada = User(issuer=DEMO_ISSUER, subject="ada", email="ada@example.com", name="Ada")
        soccer = add_category("Soccer")
        add_category("Hockey", "On ice.")
        add_item(ada, soccer, "Match Ball")
        db.session.commit()


@pytest.fixture
def as_who(app, signed_in):
    def client_for(who):
        return app.test_client() if who == "anonymous" else signed_in(SUBJECT[who])

    return client_for


def slugs(app):
    with app.app_context():
        return set(db.session.scalars(select(Category.slug)))


ACTIONS = {
    # action: (url, data, slugs afterwards when it succeeds)
    "create": ("/categories/new", {"name": "Cycling"}, {"soccer", "hockey", "cycling"}),
    "rename": (
        "/categories/hockey/edit",
        {"name": "Ice Hockey", "description": "Cold."},
        {"soccer", "ice-hockey"},
    ),
    "delete": ("/categories/hockey/delete", {}, {"soccer"}),
}
STATUS = {"anonymous": 302, "member": 403, "admin": 302}


@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize("action", ACTIONS)
def test_only_admins_manage_categories(app, categories, as_who, who, action):
    app.config["WTF_CSRF_ENABLED"] = True
    url, data, after = ACTIONS[action]
    client = as_who(who)

    form_page = client.get(url)
    assert form_page.status_code == {"anonymous": 302, "member": 403, "admin": 200}[who]
    token = csrf_token(client.get("/login", follow_redirects=True).get_data(as_text=True))
    response = client.post(url, data={**data, "csrf_token": token})

    assert response.status_code == STATUS[who]
    if who == "anonymous":
        assert response.headers["Location"] == f"/login?next={url}"
    if who == "member":
        assert "Only admins can manage categories." in response.text
    assert slugs(app) == (after if who == "admin" else {"soccer", "hockey"})


def test_rename_moves_the_category_address(app, categories, signed_in):
    client = signed_in("lena")
    _, response = submit(client, "/categories/hockey/edit", {"name": "Ice Hockey"})
    assert response.headers["Location"] == "/catalog/ice-hockey/"
    assert "Saved the category Ice Hockey." in client.get("/catalog/ice-hockey/").text
    old = client.get("/catalog/hockey/")  # the old address leads to the new one
    assert (old.status_code, old.headers["Location"]) == (301, "/catalog/ice-hockey/")
    with app.app_context():
        hockey = db.session.scalar(select(Category).where(Category.slug == "ice-hockey"))
        assert hockey.description == "On ice."  # kept from the form


def test_a_category_with_items_is_not_deleted(app, categories, signed_in):
    client = signed_in("lena")
    page = client.get("/categories/soccer/delete").text
    assert "Only an empty category can be deleted" in page
    _, response = submit(client, "/categories/soccer/delete")
    assert response.status_code == 409
    assert "Soccer still holds 1 item(s); move or delete them first." in response.text
    assert "soccer" in slugs(app)


def test_deleting_an_empty_category_says_so(app, categories, signed_in):
    client = signed_in("lena")
    _, response = submit(client, "/categories/hockey/delete")
    assert response.headers["Location"] == "/"
    assert "Deleted the category Hockey." in client.get("/").text


def test_duplicate_category_name_is_a_form_error(app, categories, signed_in):
    _, response = submit(signed_in("lena"), "/categories/new", {"name": "SOCCER"})
    assert response.status_code == 422
    assert (
        'There is already a category called <a class="name-taken" href="/catalog/soccer/">'
        "“Soccer”</a>, and “SOCCER” would have the same web address."
    ) in response.text
    assert slugs(app) == {"soccer", "hockey"}


@pytest.mark.parametrize(("who", "shown"), [("admin", True), ("member", False)])
def test_category_controls_show_only_to_admins(categories, as_who, who, shown):
    client = as_who(who)
    assert ('href="/categories/new"' in client.get("/").text) is shown
    page = client.get("/catalog/soccer/").text
    assert ('href="/categories/soccer/edit"' in page) is shown
    assert ('href="/categories/soccer/delete"' in page) is shown
    assert 'href="/catalog/new?category=soccer"' in page  # anyone signed in may add items
