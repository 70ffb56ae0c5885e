"""A form sent again (back and resubmit, or a retry) leads to what it saved, with a note.

Sending an edit again whose newer version is the person's own identical save is no
conflict; sending an add again right after it created the item is no duplicate. Anything
else that changed in between is still refused, as before.
"""

import io

import pytest
from sqlalchemy import func, select
from support import pictures
from support.html_forms import form_posting_to, submit

from catalog.changes import add_category, add_item
from catalog.demo import DEMO_ISSUER, USERS
from catalog.extensions import db
from catalog.models import Category, Item, User

ITEM_URL = "/catalog/soccer/match-ball/"


@pytest.fixture
def soccer(app):
    """Soccer with Ada's Match Ball; Lena is an admin. Returns Soccer's id."""
    app.config["CATALOG_ADMINS"] = frozenset({"lena@example.com"})
    with app.app_context():
        people = {
            u["subject"]: User(
                issuer=DEMO_ISSUER, subject=u["subject"], email=u["email"], name=u["name"]
            )
            for u in USERS
        }
        db.session.add_all(people.values())
        soccer = add_category("Soccer")
        add_item(people["ada"], soccer, "Match Ball", "Size 5.")
        db.session.commit()
        return soccer.id


def saved(app):
    with app.app_context():
        rows = db.session.execute(select(Item.name, Item.description, Item.version)).all()
        return [tuple(row) for row in rows]


def edit_form(client, url=ITEM_URL + "edit"):
    return form_posting_to(client.get(url).text, "")


def test_an_edit_sent_twice_leads_to_the_item_with_a_note(app, soccer, signed_in):
    ada = signed_in("ada")
    sent = {**edit_form(ada).fields, "description": "Size 4."}
    assert ada.post(ITEM_URL + "edit", data=sent).status_code == 302
    again = ada.post(ITEM_URL + "edit", data=sent)  # back, and submit again
    assert again.status_code == 302
    assert again.headers["Location"] == ITEM_URL
    page = ada.get(ITEM_URL).text
    assert "Your changes to “Match Ball” were already saved." in page
    assert "Someone else saved first" not in page
    assert saved(app) == [("Match Ball", "Size 4.", 2)]  # saved once


def test_a_rename_sent_twice_finds_the_item_at_its_new_url(app, soccer, signed_in):
    ada = signed_in("ada")
    sent = {**edit_form(ada).fields, "name": "Futsal Ball"}
    assert ada.post(ITEM_URL + "edit", data=sent).headers["Location"] == (
        "/catalog/soccer/futsal-ball/"
    )
    again = ada.post(ITEM_URL + "edit", data=sent)  # to the old URL
    assert again.status_code == 302
    assert again.headers["Location"] == "/catalog/soccer/futsal-ball/"
    assert "were already saved" in ada.get(again.headers["Location"]).text
    assert saved(app) == [("Futsal Ball", "Size 5.", 2)]
    # The old edit page, asked for, is the new one's address.
    old = ada.get(ITEM_URL + "edit")
    assert old.status_code == 301
    assert old.headers["Location"] == "/catalog/soccer/futsal-ball/edit"


def test_an_edit_sent_again_with_other_text_is_still_a_conflict(app, soccer, signed_in):
    ada = signed_in("ada")
    form = edit_form(ada).fields
    assert ada.post(ITEM_URL + "edit", data={**form, "description": "Size 4."}).status_code == 302
    changed = ada.post(ITEM_URL + "edit", data={**form, "description": "Size 3."})
    assert changed.status_code == 409
    assert "Someone else saved first" in changed.text
    assert saved(app) == [("Match Ball", "Size 4.", 2)]


def test_an_edit_over_someone_elses_change_is_still_a_conflict(app, soccer, signed_in):
    ada, lena = signed_in("ada"), signed_in("lena")
    form = edit_form(ada).fields
    submit(lena, ITEM_URL + "edit", {"name": "Lena's Ball"})
    response = ada.post(ITEM_URL + "edit", data={**form, "description": "Size 4."})
    assert response.status_code == 409
    assert saved(app) == [("Lena's Ball", "Size 5.", 2)]


def add_form(client, soccer, **fields):
    form = form_posting_to(client.get("/catalog/new").text, "").fields
    return {
        **form,
        "name": "Corner Flag",
        "category": str(soccer),
        "description": "Orange.",
        **fields,
    }


def items(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Item))


def test_an_add_sent_twice_leads_to_the_item_with_a_note(app, soccer, signed_in):
    sam = signed_in("sam")
    sent = add_form(sam, soccer)
    first = sam.post("/catalog/new", data=sent)
    assert first.headers["Location"] == "/catalog/soccer/corner-flag/"
    again = sam.post("/catalog/new", data=sent)
    assert again.status_code == 302
    assert again.headers["Location"] == "/catalog/soccer/corner-flag/"
    page = sam.get(again.headers["Location"]).text
    assert "“Corner Flag” was already added to Soccer, just as you sent it again" in page
    assert "already has an item called" not in page
    assert items(app) == 2


def test_an_add_with_a_picture_sent_twice_adds_it_once(app, soccer, signed_in):
    sam = signed_in("sam")
    picture = pictures.solid("JPEG", size=(64, 48))

    def send():
        data = add_form(sam, soccer, picture=(io.BytesIO(picture), "flag.jpeg"))
        return sam.post("/catalog/new", data=data, content_type="multipart/form-data")

    assert send().status_code == 302
    again = send()
    assert again.status_code == 302
    assert "was already added" in sam.get(again.headers["Location"]).text
    # Another picture is another item: the name is taken.
    other = add_form(sam, soccer, picture=(io.BytesIO(pictures.solid("PNG")), "x.png"))
    response = sam.post("/catalog/new", data=other, content_type="multipart/form-data")
    assert response.status_code == 422
    assert items(app) == 2


@pytest.mark.parametrize(
    ("who", "changes"),
    [("sam", {"description": "Yellow."}), ("ada", {})],
    ids=["other text", "someone else"],
)
def test_an_add_that_differs_or_is_someone_elses_is_still_a_duplicate(
    app, soccer, signed_in, who, changes
):
    sam = signed_in("sam")
    assert sam.post("/catalog/new", data=add_form(sam, soccer)).status_code == 302
    client = signed_in(who)
    response = client.post("/catalog/new", data=add_form(client, soccer, **changes))
    assert response.status_code == 422
    assert "Soccer already has an item called" in response.text
    assert items(app) == 2


def test_a_resubmission_costs_a_fixed_number_of_queries(app, soccer, signed_in, count_queries):
    sam = signed_in("sam")
    sent = add_form(sam, soccer)
    sam.post("/catalog/new", data=sent)
    counts = []
    for _ in range(2):
        with count_queries() as queries:
            assert sam.post("/catalog/new", data=sent).status_code == 302
        counts.append(len(queries))
    assert counts[0] == counts[1]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Category)) == 1


def test_a_new_category_sent_twice_leads_to_it_with_a_note(app, soccer, signed_in):
    lena = signed_in("lena")
    sent = {**form_posting_to(lena.get("/categories/new").text, "").fields, "name": "Hockey"}
    assert lena.post("/categories/new", data=sent).headers["Location"] == "/catalog/hockey/"
    again = lena.post("/categories/new", data=sent)
    assert again.status_code == 302
    assert again.headers["Location"] == "/catalog/hockey/"
    assert "The category Hockey was already created" in lena.get("/catalog/hockey/").text
    # Another description is another category: the name is taken.
    other = lena.post("/categories/new", data={**sent, "description": "On ice."})
    assert other.status_code == 422
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Category)) == 2


def test_a_category_rename_sent_twice_finds_it_at_its_new_url(app, soccer, signed_in):
    lena = signed_in("lena")
    sent = {**form_posting_to(lena.get("/categories/soccer/edit").text, "").fields}
    sent["name"] = "Football"
    assert lena.post("/categories/soccer/edit", data=sent).headers["Location"] == (
        "/catalog/football/"
    )
    again = lena.post("/categories/soccer/edit", data=sent)  # to the old URL
    assert again.headers["Location"] == "/catalog/football/"
    old = lena.get("/categories/soccer/edit")
    assert (old.status_code, old.headers["Location"]) == (301, "/categories/football/edit")
    with app.app_context():
        assert list(db.session.scalars(select(Category.name))) == ["Football"]
