"""Who may add, edit and delete items, and how saving behaves when people collide."""

import re
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import event, func, select
from support.html_forms import csrf_token, form_posting_to, submit

from catalog.changes import add_category, add_item
from catalog.demo import DEMO_ISSUER, USERS
from catalog.extensions import db
from catalog.models import Category, Item, User

OWNER, OTHER, ADMIN = "ada", "sam", "lena"
WHO = ["anonymous", "owner", "other", "admin"]
SUBJECT = {"owner": OWNER, "other": OTHER, "admin": ADMIN}

ITEM_URL = "/catalog/soccer/match-ball/"
FORM_URL = {
    "create": "/catalog/new",
    "edit": ITEM_URL + "edit",
    "delete": ITEM_URL + "delete",
}
# Status of loading each form, and of submitting it, for anonymous / owner / other / admin.
FORM_STATUS = {
    "create": dict(zip(WHO, (302, 200, 200, 200), strict=True)),
    "edit": dict(zip(WHO, (302, 200, 403, 200), strict=True)),
    "delete": dict(zip(WHO, (302, 200, 403, 200), strict=True)),
}
SUBMIT_STATUS = {
    "create": dict(zip(WHO, (302, 302, 302, 302), strict=True)),
    "edit": dict(zip(WHO, (302, 302, 403, 302), strict=True)),
    "delete": dict(zip(WHO, (302, 302, 403, 302), strict=True)),
}
# Where a successful submit leads.
DONE_URL = {
    "create": "/catalog/soccer/shin-guards/",
    "edit": ITEM_URL,
    "delete": "/catalog/soccer/",
}


@pytest.fixture
def catalog(app):
    """Soccer and Hockey; Ada owns the Match Ball; Lena is an admin. Returns row ids."""
    app.config["CATALOG_ADMINS"] = frozenset({"lena@example.com"})
    with app.app_context():
        people = {
            u["subject"]: User(
                issuer=DEMO_ISSUER, subject=u["subject"], email=u["email"], name=u["name"]
            )
            for u in USERS
        }
        db.session.add_all(people.values())
        soccer = add_category("Soccer", "The world's game.")
        hockey = add_category("Hockey")
        ball = add_item(people[OWNER], soccer, "Match Ball", "Size 5.")
        db.session.commit()
        return {
            "soccer": soccer.id,
            "hockey": hockey.id,
            "ball": ball.id,
            **{subject: user.id for subject, user in people.items()},
        }


@pytest.fixture
def as_who(app, signed_in):
    """Return a function giving a test client for anonymous / owner / other / admin."""

    def client_for(who):
        return app.test_client() if who == "anonymous" else signed_in(SUBJECT[who])

    return client_for


def item_row(app, item_id):
    with app.app_context():
        item = db.session.get(Item, item_id)
        return None if item is None else (item.name, item.description, item.owner_id, item.version)


def item_count(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Item))


def new_item_owner(app):
    with app.app_context():
        return db.session.scalar(select(Item.owner_id).where(Item.slug == "shin-guards"))


def raw_data(action, catalog):
    """What a person posting by hand would send for ``action``."""
    return {
        "create": {"name": "Shin Guards", "category": catalog["soccer"], "description": "Hard."},
        "edit": {
            "name": "Match Ball",
            "category": catalog["soccer"],
            "description": "Edited.",
            "version": 1,
        },
        "delete": {"version": 1},
    }[action]


FORM_CHANGES = {
    "create": {"name": "Shin Guards", "description": "Hard."},
    "edit": {"description": "Edited."},
    "delete": {},
}


@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize("action", ["create", "edit", "delete"])
def test_view_form(app, catalog, as_who, who, action):
    app.config["WTF_CSRF_ENABLED"] = True
    response = as_who(who).get(FORM_URL[action])
    assert response.status_code == FORM_STATUS[action][who]
    page = response.get_data(as_text=True)
    if who == "anonymous":
        assert response.headers["Location"] == f"/login?next={FORM_URL[action]}"
    elif response.status_code == 403:
        assert "<h1>Not allowed</h1>" in page
        assert "or an admin, can change it" in page
    else:
        assert form_posting_to(page, "").fields["csrf_token"]
    assert item_row(app, catalog["ball"]) == ("Match Ball", "Size 5.", catalog[OWNER], 1)


@pytest.mark.parametrize("via", ["html", "raw"])
@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize("action", ["create", "edit", "delete"])
def test_submit(app, catalog, as_who, who, action, via):
    app.config["WTF_CSRF_ENABLED"] = True  # as in production: refusals are not CSRF failures
    client = as_who(who)
    if via == "html":
        changes = {**FORM_CHANGES[action], "category": str(catalog["soccer"])}
        if action == "delete":
            del changes["category"]
        page, response = submit(client, FORM_URL[action], changes)
        assert page.status_code == FORM_STATUS[action][who]
        response = response or page  # refused before a form was shown
    else:
        token = csrf_token(client.get("/login", follow_redirects=True).get_data(as_text=True))
        data = {**raw_data(action, catalog), "csrf_token": token}
        response = client.post(FORM_URL[action], data=data)

    assert response.status_code == SUBMIT_STATUS[action][who]
    allowed = who != "anonymous" and response.status_code == 302
    if who == "anonymous":
        assert response.headers["Location"] == f"/login?next={FORM_URL[action]}"
    elif allowed:
        assert response.headers["Location"] == DONE_URL[action]

    ball = item_row(app, catalog["ball"])
    if action == "create":
        assert item_count(app) == (2 if allowed else 1)
        assert new_item_owner(app) == (catalog[SUBJECT[who]] if allowed else None)
    elif action == "edit":
        expected = ("Edited.", 2) if allowed else ("Size 5.", 1)
        assert (ball[1], ball[3]) == expected
        assert ball[2] == catalog[OWNER]  # an admin's edit keeps the owner
    else:
        assert (ball is None) == allowed


def test_flash_message_after_each_change(app, catalog, signed_in):
    client = signed_in(OWNER)
    new = {"name": "Shin Guards", "category": str(catalog["soccer"])}
    _, response = submit(client, "/catalog/new", new)
    assert "Added “Shin Guards” to Soccer." in client.get(response.headers["Location"]).text
    _, response = submit(client, ITEM_URL + "edit", {"description": "Now size 4."})
    assert "Saved your changes to “Match Ball”." in client.get(response.headers["Location"]).text
    _, response = submit(client, ITEM_URL + "delete")
    assert "Deleted “Match Ball”." in client.get(response.headers["Location"]).text


def test_delete_asks_first(app, catalog, signed_in):
    page = signed_in(OWNER).get(ITEM_URL + "delete").get_data(as_text=True)
    assert "<h1>Delete Match Ball?</h1>" in page
    assert ">Delete item</button>" in page
    assert item_row(app, catalog["ball"]) is not None


def test_edit_can_move_an_item_and_keeps_counts(app, catalog, signed_in):
    client = signed_in(OWNER)
    _, response = submit(client, ITEM_URL + "edit", {"category": str(catalog["hockey"])})
    assert response.headers["Location"] == "/catalog/hockey/match-ball/"
    assert client.get("/catalog/hockey/match-ball/").status_code == 200
    with app.app_context():
        counts = dict(db.session.execute(select(Category.slug, Category.item_count)).all())
    assert counts == {"soccer": 0, "hockey": 1}


@pytest.mark.parametrize(("who", "shown"), [("owner", True), ("admin", True), ("other", False)])
def test_item_page_offers_edit_and_delete_only_to_who_may(catalog, as_who, who, shown):
    page = as_who(who).get(ITEM_URL).get_data(as_text=True)
    assert (f'href="{ITEM_URL}edit"' in page) is shown
    assert (f'href="{ITEM_URL}delete"' in page) is shown
    assert "Ada Brooks" in page  # the owner, for everyone


def test_add_form_preselects_the_category_it_came_from(catalog, signed_in):
    page = signed_in(OTHER).get("/catalog/new?category=hockey").get_data(as_text=True)
    assert form_posting_to(page, "").fields["category"] == str(catalog["hockey"])


def test_duplicate_name_in_a_category_is_a_form_error(app, catalog, signed_in):
    new = {"name": "MATCH BALL!", "category": str(catalog["soccer"])}
    page, response = submit(signed_in(OTHER), "/catalog/new", new)
    assert response.status_code == 422
    # The message names the item that holds the name, with a link to it.
    assert (
        'Soccer already has an item called <a class="name-taken" '
        'href="/catalog/soccer/match-ball/">“Match Ball”</a>, and “MATCH BALL!” would have '
        "the same web address. Choose another name."
    ) in response.text
    assert 'value="MATCH BALL!"' in response.text  # the input is kept
    assert item_count(app) == 1


def test_stale_edit_gets_409_with_both_versions_and_loses_nothing(app, catalog, signed_in):
    owner, admin = signed_in(OWNER), signed_in(ADMIN)
    stale_page = owner.get(ITEM_URL + "edit").get_data(as_text=True)
    stale_form = form_posting_to(stale_page, "")

    submit(admin, ITEM_URL + "edit", {"description": "Newer text from the admin."})
    assert item_row(app, catalog["ball"])[1:4:2] == ("Newer text from the admin.", 2)

    response = owner.post(
        ITEM_URL + "edit", data={**stale_form.fields, "description": "My own <b>text</b>."}
    )
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "Someone else saved first" in page
    assert "Newer text from the admin." in page
    assert "My own &lt;b&gt;text&lt;/b&gt;." in page
    assert item_row(app, catalog["ball"])[1:4:2] == ("Newer text from the admin.", 2)

    # The conflict page's form carries the newer version: saving again is deliberate.
    retry = form_posting_to(page, ITEM_URL + "edit")
    assert retry.fields["version"] == "2"
    assert owner.post(ITEM_URL + "edit", data=retry.fields).status_code == 302
    assert item_row(app, catalog["ball"])[1:4:2] == ("My own <b>text</b>.", 3)


def test_stale_delete_is_refused_and_asks_again(app, catalog, signed_in):
    owner, admin = signed_in(OWNER), signed_in(ADMIN)
    confirm = form_posting_to(owner.get(ITEM_URL + "delete").text, "")
    submit(admin, ITEM_URL + "edit", {"description": "Changed meanwhile."})
    response = owner.post(ITEM_URL + "delete", data=confirm.fields)
    assert response.status_code == 409
    assert "Someone else changed this item" in response.text
    assert "Changed meanwhile." in response.text
    assert item_row(app, catalog["ball"]) is not None


def race(*calls):
    """Run ``calls`` in threads that all reach their first flush before any goes on.

    None has committed when the others write, so only the database's
    constraints (unique name, row version) can decide who wins.
    """
    barrier = threading.Barrier(len(calls), timeout=10)
    arrived = threading.local()

    def meet(session, flush_context, instances):
        if (session.new or session.dirty) and not getattr(arrived, "done", False):
            arrived.done = True
            barrier.wait()

    event.listen(FlaskSession, "before_flush", meet)
    try:
        with ThreadPoolExecutor(len(calls)) as pool:
            return [f.result() for f in [pool.submit(call) for call in calls]]
    finally:
        event.remove(FlaskSession, "before_flush", meet)


def test_concurrent_duplicate_create_leaves_one_row(app, catalog, signed_in):
    clients = [signed_in(OWNER), signed_in(OTHER)]
    data = {"name": "Corner Flag", "category": catalog["soccer"], "description": ""}
    responses = race(*[lambda c=c: c.post("/catalog/new", data=data) for c in clients])

    assert sorted(r.status_code for r in responses) == [302, 422]
    loser = next(r for r in responses if r.status_code == 422)
    assert "Soccer already has an item called “Corner Flag”." in re.sub("<[^>]+>", "", loser.text)
    with app.app_context():
        rows = db.session.scalar(
            select(func.count()).select_from(Item).where(Item.slug == "corner-flag")
        )
        count = db.session.get(Category, catalog["soccer"]).item_count
    assert rows == 1
    assert count == 2


def test_concurrent_edits_one_wins_the_other_gets_409(app, catalog, signed_in):
    owner, admin = signed_in(OWNER), signed_in(ADMIN)
    forms = {
        "owner": (owner, form_posting_to(owner.get(ITEM_URL + "edit").text, "")),
        "admin": (admin, form_posting_to(admin.get(ITEM_URL + "edit").text, "")),
    }

    def save(who):
        client, form = forms[who]
        return client.post(ITEM_URL + "edit", data={**form.fields, "description": f"By {who}."})

    responses = dict(zip(forms, race(lambda: save("owner"), lambda: save("admin")), strict=True))
    assert sorted(r.status_code for r in responses.values()) == [302, 409]
    winner = next(who for who, r in responses.items() if r.status_code == 302)
    assert item_row(app, catalog["ball"])[1:4:2] == (f"By {winner}.", 2)
