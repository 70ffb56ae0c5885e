"""Names read as what they are: no invisible or direction-changing characters, one form (NFC)."""

import re
import sys
import unicodedata
from urllib.parse import quote

import pytest
from sqlalchemy import select
from support.api_data import seed_api_catalog
from support.html_forms import submit

from catalog.api.schemas import NAME
from catalog.changes import add_category, add_item
from catalog.demo import DEMO_ISSUER
from catalog.extensions import db
from catalog.forms import visible_name
from catalog.models import NAME_MAX, Category, Item, User
from catalog.slugs import slugify
from catalog.text import BIDI_CONTROLS, invisible_characters, invisible_message, nfc

RLO = "\u202e"
# Names that show as something other than what they hold, and the character to blame.
LOOKALIKES = [
    (f"Ball{RLO}gpj.exe", RLO),  # shows as "Ballexe.jpg"
    ("Match\u200bBall", "\u200b"),  # zero-width space
    ("\ufeffMatch Ball", "\ufeff"),  # byte-order mark
    ("Match\u2060Ball", "\u2060"),  # word joiner
    ("Ma\u00adtch Ball", "\u00ad"),  # soft hyphen
    ("Ball \u2067left\u2069", "\u2067"),  # right-to-left isolate
    ("Ball\u200f", "\u200f"),  # right-to-left mark
    ("\u3164", "\u3164"),  # Hangul filler: a letter drawn as nothing
    ("Flag\U000e0041", "\U000e0041"),  # a tag character
]
# Names that hold joiners where a script or an emoji needs them.
JOINED = ["👩\u200d🔬 Lab Kit", "می\u200cخواهم"]


class Field:
    def __init__(self, data):
        self.data = data


def refused_by_form(text):
    try:
        visible_name(None, Field(text))
    except Exception as exc:  # noqa: BLE001 -- any refusal counts, and says why
        return str(exc)
    return None


@pytest.mark.parametrize(
    "code",
    [c for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) == "Cf"],
    ids=lambda c: f"U+{c:04X}",
)
def test_every_format_character_but_the_joiners_is_refused_alike(code):
    c = chr(code)
    kept = c in "\u200c\u200d"
    assert (invisible_characters(f"a{c}b") == []) is kept
    assert (refused_by_form(f"a{c}b") is None) is kept
    assert (re.fullmatch(NAME, f"a{c}b") is None) is not kept


def test_every_bidi_control_is_refused():
    controls = [c for c in map(chr, range(0x2100)) if re.fullmatch(f"[{BIDI_CONTROLS}]", c)]
    assert len(controls) == 12
    for c in controls:
        assert invisible_characters(f"a{c}b") == [c]
        assert unicodedata.bidirectional(c) in {
            "AL",
            "L",
            "R",
            "LRE",
            "RLE",
            "LRO",
            "RLO",
            "PDF",
            "LRI",
            "RLI",
            "FSI",
            "PDI",
        }


@pytest.mark.parametrize(("name", "culprit"), LOOKALIKES)
def test_the_message_names_the_character(name, culprit):
    message = invisible_message(name)
    assert message is not None
    assert f"U+{ord(culprit):04X} {unicodedata.name(culprit)}" in message
    assert refused_by_form(name) == message
    assert re.fullmatch(NAME, name) is None


@pytest.mark.parametrize("name", JOINED)
def test_joiners_that_scripts_and_emoji_need_are_kept(name):
    assert invisible_message(name) is None
    assert refused_by_form(name) is None
    assert re.fullmatch(NAME, name)


@pytest.mark.parametrize("name", ["\u200d", " \u200c ", "\u200d\u200d"])
def test_a_name_of_joiners_alone_shows_nothing_and_is_refused(name):
    assert "shows something" in refused_by_form(name)
    assert re.fullmatch(NAME, name) is None


@pytest.fixture
def soccer(app):
    """Soccer with Ada's Match Ball; Ada is an admin. Returns Soccer's id."""
    app.config["CATALOG_ADMINS"] = frozenset({"ada@example.com"})
    with app.app_context():
        ada = User(issuer=DEMO_ISSUER, subject="ada", email="ada@example.com", name="Ada")
        soccer = add_category("Soccer")
        add_item(ada, soccer, "Match Ball", "Size 5.")
        db.session.commit()
        return soccer.id


def names(app, model):
    with app.app_context():
        return list(db.session.scalars(select(model.name).order_by(model.id)))


@pytest.mark.parametrize(("name", "culprit"), LOOKALIKES[:3])
def test_item_and_category_forms_refuse_lookalike_names(app, soccer, signed_in, name, culprit):
    ada = signed_in("ada")
    _, response = submit(ada, "/catalog/new", {"name": name, "category": str(soccer)})
    assert response.status_code == 422
    assert f"U+{ord(culprit):04X}" in response.text
    _, response = submit(ada, "/catalog/soccer/match-ball/edit", {"name": name})
    assert response.status_code == 422
    assert f"U+{ord(culprit):04X}" in response.text
    _, response = submit(ada, "/categories/new", {"name": name})
    assert response.status_code == 422
    assert f"U+{ord(culprit):04X}" in response.text
    assert names(app, Item) == ["Match Ball"]
    assert names(app, Category) == ["Soccer"]


DECOMPOSED = "Cafe\u0301 Cre\u0300me"  # e + combining accents
COMPOSED = "Café Crème"


def test_forms_keep_names_composed(app, soccer, signed_in):
    assert nfc(DECOMPOSED) == COMPOSED != DECOMPOSED
    ada = signed_in("ada")
    _, added = submit(ada, "/catalog/new", {"name": DECOMPOSED, "category": str(soccer)})
    assert added.status_code == 302
    _, created = submit(ada, "/categories/new", {"name": DECOMPOSED})
    assert created.status_code == 302
    assert names(app, Item) == ["Match Ball", COMPOSED]
    assert names(app, Category) == ["Soccer", COMPOSED]
    # The composed and the decomposed spelling are one name: another item under it is a
    # duplicate (a different description, so that it is not the same form sent again).
    _, again = submit(
        ada, "/catalog/new", {"name": COMPOSED, "category": str(soccer), "description": "Other."}
    )
    assert again.status_code == 422


def test_api_refuses_lookalike_names_with_problem_json(app):
    seeded = seed_api_catalog(app)
    client = app.test_client()
    for method, url in [("POST", "/api/v1/items"), ("PATCH", "/api/v1/items/1")]:
        response = client.open(
            url,
            method=method,
            json={"category": "soccer", "name": f"Ball{RLO}gpj.exe"},
            headers=seeded.bearer("lena"),
        )
        assert response.status_code == 422, response.text
        assert response.mimetype == "application/problem+json"
        problem = response.get_json()
        [error] = [e for e in problem["errors"] if e["field"] == "name"]
        assert "U+202E RIGHT-TO-LEFT OVERRIDE" in error["message"]


def test_api_keeps_names_composed_and_documents_the_rule(app):
    seeded = seed_api_catalog(app)
    client = app.test_client()
    response = client.post(
        "/api/v1/items",
        json={"category": "soccer", "name": DECOMPOSED},
        headers=seeded.bearer("sam"),
    )
    assert response.status_code == 201, response.text
    assert response.get_json()["name"] == COMPOSED
    document = client.get("/api/v1/openapi.json").get_json()
    name = document["components"]["schemas"]["ItemCreate"]["properties"]["name"]
    assert name["pattern"] == NAME
    assert "NFC" in name["description"]


def test_api_refuses_a_name_that_grows_past_the_limit_once_composed(app):
    seeded = seed_api_catalog(app)
    # U+0958 is excluded from composition: NFC writes it as two characters.
    assert len(nfc("\u0958")) == 2
    response = app.test_client().post(
        "/api/v1/items",
        json={"category": "soccer", "name": "\u0958" * NAME_MAX},
        headers=seeded.bearer("sam"),
    )
    assert response.status_code == 422
    assert "composed" in response.text


# Names a slug keeps no letter of: each gets a slug of its own.
NO_LETTERS = {
    "!!!": "item-e84c538e",
    "???": "item-a03b221c",
    "⚽": "soccer-ball",
    "🎉🎉": "party-popper-party-popper",
    "🎉": "party-popper",
    "👩\u200d🔬": "woman-scientist",
    "🇫🇷": "france",
}


def test_names_without_letters_get_distinct_stable_slugs():
    assert {slugify(name) for name in NO_LETTERS} == set(NO_LETTERS.values())
    assert [slugify(name) for name in NO_LETTERS] == list(NO_LETTERS.values())
    assert slugify("  !!! ") == slugify("!!!")  # what is dropped around a name, too
    # The joiners draw nothing: a name differing by them alone has the same slug.
    assert slugify("Match\u200dBall") == slugify("MatchBall") == "matchball"


def test_a_category_holds_every_name_without_letters(app, soccer, signed_in):
    ada = signed_in("ada")
    for name, slug in NO_LETTERS.items():
        added = ada.post("/catalog/new", data={"name": name, "category": str(soccer)})
        assert added.status_code == 302, added.text
        assert added.headers["Location"] == quote(f"/catalog/soccer/{slug}/")
        assert ada.get(added.headers["Location"]).status_code == 200
    assert names(app, Item) == ["Match Ball", *NO_LETTERS]


def test_a_duplicate_name_message_links_to_the_item_that_holds_it(app, soccer, signed_in):
    ada = signed_in("ada")
    assert ada.post("/catalog/new", data={"name": "Corner Flag", "category": str(soccer)})
    _, response = submit(ada, "/catalog/new", {"name": "corner flag", "category": str(soccer)})
    assert response.status_code == 422
    page = response.text
    assert (
        'Soccer already has an item called <a class="name-taken" '
        'href="/catalog/soccer/corner-flag/">“Corner Flag”</a>, and “corner flag” would '
        "have the same web address. Choose another name."
    ) in page
    # Renaming another item onto it says the same; the same name is said once.
    _, response = submit(ada, "/catalog/soccer/match-ball/edit", {"name": "Corner Flag"})
    assert response.status_code == 422
    assert (
        'Soccer already has an item called <a class="name-taken" '
        'href="/catalog/soccer/corner-flag/">“Corner Flag”</a>.'
    ) in response.text


def test_a_duplicate_name_costs_a_fixed_number_of_queries(app, soccer, signed_in, count_queries):
    ada = signed_in("ada")
    data = {"name": "MATCH BALL", "category": str(soccer)}
    counts = []
    for _ in range(2):
        with count_queries() as queries:
            assert ada.post("/catalog/new", data=data).status_code == 422
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_api_duplicate_names_the_existing_item_and_its_url(app):
    seeded = seed_api_catalog(app)
    client = app.test_client()
    response = client.post(
        "/api/v1/items",
        json={"category": "soccer", "name": "MATCH BALL"},
        headers=seeded.bearer("sam"),
    )
    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    detail = response.get_json()["detail"]
    ball = seeded.items["ball"]
    assert detail.startswith(
        f"Soccer already has an item called “Match Ball” (http://localhost/api/v1/items/{ball})"
    )
    assert detail.endswith(
        ", and “MATCH BALL” would have the same web address. Choose another name."
    )
    # Nothing of the refused request is kept: the item can be made under another name.
    again = client.post(
        "/api/v1/items",
        json={"category": "soccer", "name": "Match Ball 2"},
        headers=seeded.bearer("sam"),
    )
    assert again.status_code == 201
