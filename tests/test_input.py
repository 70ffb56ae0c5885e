"""Bad input gets a clear message next to the field and a 4xx; odd input is kept safely."""

from urllib.parse import quote

import pytest
from sqlalchemy import func, select
from support.html_forms import form_posting_to, submit

from catalog.changes import add_category, add_item
from catalog.demo import DEMO_ISSUER
from catalog.extensions import db
from catalog.models import (
    CATEGORY_DESCRIPTION_MAX,
    DESCRIPTION_MAX,
    NAME_MAX,
    Category,
    Item,
    User,
)
from catalog.slugs import slugify

SCRIPT = "<script>alert('x')</script><b onmouseover=\"alert(1)\">&amp;</b>"


@pytest.fixture
def soccer(app):
    """A Soccer category with Ada's Match Ball; Ada is also an admin. Returns Soccer's id."""
    app.config["CATALOG_ADMINS"] = frozenset({"ada@example.com"})
    with app.app_context():
        ada = User(issuer=DEMO_ISSUER, subject="ada", email="ada@example.com", name="Ada")
        soccer = add_category("Soccer")
        add_item(ada, soccer, "Match Ball", "Size 5.")
        db.session.commit()
        return soccer.id


@pytest.fixture
def ada(soccer, signed_in):
    return signed_in("ada")


def items(app):
    with app.app_context():
        return db.session.execute(select(Item.name, Item.description).order_by(Item.id)).all()


def category_names(app):
    with app.app_context():
        return list(db.session.scalars(select(Category.name).order_by(Category.id)))


def new_item(soccer, **fields):
    return {"name": "Shin Guards", "category": str(soccer), "description": "", **fields}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": "x" * (NAME_MAX + 1)}, f"Keep the name to {NAME_MAX} characters or fewer."),
        (
            {"description": "x" * (DESCRIPTION_MAX + 1)},
            f"Keep the description to {DESCRIPTION_MAX} characters or fewer.",
        ),
        ({"name": ""}, "Give the item a name."),
        ({"name": "   \t "}, "Give the item a name."),
        ({"name": "Two\nlines"}, "Keep this on one line."),
        ({"name": "Nul\x00byte"}, "Remove the control characters from this text."),
        ({"description": "Bell\x07"}, "Remove the control characters from this text."),
        ({"description": "C1 control\x85"}, "Remove the control characters from this text."),
        ({"category": "99999"}, "Choose one of the categories in the list."),
        ({"category": "abc"}, "Choose one of the categories in the list."),
        ({"category": ""}, "Choose one of the categories in the list."),
        ({"category": "-1"}, "Choose one of the categories in the list."),
        ({"category": "1.5"}, "Choose one of the categories in the list."),
        ({"category": "٣"}, "Choose one of the categories in the list."),
        ({"category": str(2**40)}, "Choose one of the categories in the list."),
        ({"category": "9" * 400}, "Choose one of the categories in the list."),
    ],
)
def test_bad_item_input_is_refused_with_a_message(app, soccer, ada, fields, message):
    data = new_item(soccer, **fields)
    response = ada.post("/catalog/new", data=data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page
    assert 'aria-invalid="true"' in page
    assert items(app) == [("Match Ball", "Size 5.")]


def test_the_longest_allowed_values_are_accepted(app, soccer, ada):
    name, description = "n" * NAME_MAX, "d" * DESCRIPTION_MAX
    response = ada.post("/catalog/new", data=new_item(soccer, name=name, description=description))
    assert response.status_code == 302
    assert (name, description) in items(app)


def test_line_breaks_count_once_toward_the_limit(app, soccer, ada):
    description = "ab\r\n" * (DESCRIPTION_MAX // 3)  # over the limit only if CRLF counted twice
    response = ada.post("/catalog/new", data=new_item(soccer, description=description))
    assert response.status_code == 302
    assert ("Shin Guards", description.replace("\r\n", "\n")) in items(app)


def test_input_is_kept_when_the_form_comes_back(soccer, ada):
    data = new_item(soccer, name="", description="Keep <this> text")
    page = ada.post("/catalog/new", data=data).get_data(as_text=True)
    form = form_posting_to(page, "")
    assert form.fields["description"] == "Keep <this> text"
    assert form.fields["category"] == str(soccer)


@pytest.mark.parametrize("version", ["", "abc", "1e3"])
def test_a_tampered_version_is_refused(app, soccer, ada, version):
    data = {
        "name": "Match Ball",
        "category": str(soccer),
        "description": "New.",
        "version": version,
    }
    response = ada.post("/catalog/soccer/match-ball/edit", data=data)
    assert response.status_code == 422
    assert 'role="alert"' in response.text
    assert items(app) == [("Match Ball", "Size 5.")]


def test_a_far_future_version_is_a_conflict_not_a_crash(app, soccer, ada):
    # Other text than is saved: the same text would only be the form sent again.
    data = {
        "name": "Match Ball",
        "category": str(soccer),
        "description": "New.",
        "version": "9" * 30,
    }
    response = ada.post("/catalog/soccer/match-ball/edit", data=data)
    assert response.status_code == 409
    assert items(app) == [("Match Ball", "Size 5.")]


def test_a_forged_owner_field_is_ignored(app, soccer, signed_in):
    sam = signed_in("sam")
    with app.app_context():
        ada_id = db.session.scalar(select(User.id).where(User.subject == "ada"))
    sam.post("/catalog/new", data=new_item(soccer, owner_id=str(ada_id), owner=str(ada_id)))
    with app.app_context():
        owner = db.session.scalar(
            select(User.subject).join(Item.owner).where(Item.slug == "shin-guards")
        )
    assert owner == "sam"


def test_a_megabyte_description_is_refused_with_a_message(app, soccer, ada):
    # Past MAX_CONTENT_LENGTH the body is not even read: 413, with the limit in words.
    response = ada.post("/catalog/new", data=new_item(soccer, description="x" * 1_000_000))
    assert response.status_code == 413
    assert "larger than the 64 KiB this site accepts" in response.text
    assert len(items(app)) == 1


def test_a_description_over_the_limit_but_under_the_body_limit_gets_a_message(app, soccer, ada):
    response = ada.post("/catalog/new", data=new_item(soccer, description="x" * 60_000))
    assert response.status_code == 422
    assert f"Keep the description to {DESCRIPTION_MAX} characters or fewer." in response.text
    assert len(items(app)) == 1


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": "c" * (NAME_MAX + 1)}, f"Keep the name to {NAME_MAX} characters or fewer."),
        (
            {"description": "c" * (CATEGORY_DESCRIPTION_MAX + 1)},
            f"Keep the description to {CATEGORY_DESCRIPTION_MAX} characters or fewer.",
        ),
        ({"name": ""}, "Give the category a name."),
        ({"name": "Tab\there"}, "Keep this on one line."),
        ({"description": "Escape\x1b[31m"}, "Remove the control characters from this text."),
    ],
)
def test_bad_category_input_is_refused_with_a_message(app, soccer, ada, fields, message):
    response = ada.post("/categories/new", data={"name": "Cycling", "description": "", **fields})
    assert response.status_code == 422
    assert message in response.text
    assert category_names(app) == ["Soccer"]


def test_html_in_every_text_field_is_stored_verbatim_and_shown_escaped(app, soccer, ada):
    category_name = f"Cat {SCRIPT}"[:NAME_MAX]
    _, created = submit(
        ada, "/categories/new", {"name": category_name, "description": f"About {SCRIPT}"}
    )
    assert created.status_code == 302
    category_url = created.headers["Location"]
    item_name = f"Item {SCRIPT}"[:NAME_MAX]
    with app.app_context():
        category_id = db.session.scalar(select(Category.id).where(Category.name == category_name))
    _, added = submit(
        ada,
        "/catalog/new",
        {"name": item_name, "category": str(category_id), "description": f"Text {SCRIPT}"},
    )
    assert added.status_code == 302
    item_url = added.headers["Location"]

    with app.app_context():
        category = db.session.get(Category, category_id)
        item = db.session.scalar(select(Item).where(Item.category_id == category_id))
        assert (category.name, category.description) == (category_name, f"About {SCRIPT}")
        assert (item.name, item.description) == (item_name, f"Text {SCRIPT}")

    pages = [
        ada.get(url).get_data(as_text=True)  # the first one shows the flash message too
        for url in [
            item_url,
            "/",
            category_url,
            item_url + "edit",
            item_url + "delete",
            category_url.replace("/catalog/", "/categories/") + "edit",
            category_url.replace("/catalog/", "/categories/") + "delete",
        ]
    ]
    for page in pages:
        assert "<script>" not in page
        assert 'onmouseover="alert' not in page
        assert "&lt;script&gt;" in page
    assert "Text &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in pages[0]


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Crème Brûlée", "creme-brulee"),
        ("São Paulo  FC", "sao-paulo-fc"),
        ("Война и мир", "война-и-мир"),  # й is a letter of its own, not an accented и
        ("ガム", "ガム"),  # the voicing mark makes ガ, not カ
        ("हिन्दी", "हिन्दी"),  # vowel signs and virama belong to the word
        ("a_b / c?", "a-b-c"),
        ("!!!", "item-e84c538e"),  # nothing to keep: a digest of the name tells it apart
        ("⚽", "soccer-ball"),  # emoji by their names
    ],
)
def test_slugs_keep_the_letters_of_every_script(name, slug):
    assert slugify(name) == slug


@pytest.mark.parametrize(
    ("category", "category_slug", "item", "item_slug"),
    [
        ("Книги", "книги", "Война и мир", "война-и-мир"),
        ("日本茶", "日本茶", "抹茶 セット", "抹茶-セット"),
        ("Pâtisserie", "patisserie", "Crème brûlée", "creme-brulee"),
        ("العربية", "العربية", "قهوة", "قهوة"),
        ("Ελληνικά", "ελληνικά", "Καφές", "καφές"),
        ("हिन्दी", "हिन्दी", "चाय", "चाय"),
        ("ゲーム", "ゲーム", "ガム", "ガム"),
        ("Emoji", "emoji", "⚽🏀", "soccer-ball-basketball"),
    ],
)
def test_non_ascii_names_and_slugs_route(
    app, soccer, ada, category, category_slug, item, item_slug
):
    created = ada.post("/categories/new", data={"name": category, "description": ""})
    category_path = f"/catalog/{category_slug}/"
    assert created.headers["Location"] == quote(category_path)
    with app.app_context():
        category_id = db.session.scalar(select(Category.id).where(Category.slug == category_slug))

    added = ada.post("/catalog/new", data={"name": item, "category": str(category_id)})
    item_path = f"{category_path}{item_slug}/"
    assert added.headers["Location"] == quote(item_path)

    page = ada.get(quote(item_path))
    assert page.status_code == 200
    assert f"<h1>{item}</h1>" in page.text
    assert ada.get(quote(category_path)).status_code == 200
    assert ada.get(quote(item_path + "edit")).status_code == 200

    deleted = ada.post(quote(item_path + "delete"), data={"version": "1"})
    assert deleted.headers["Location"] == quote(category_path)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Item)) == 1
