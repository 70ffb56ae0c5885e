"""The search syntax, the same on SQLite (FTS5) and PostgreSQL (websearch_to_tsquery).

The shared cases run on both databases and expect the same items; the fuzzing sends any
text to the page, the API and FTS5 itself, and expects an answer, never an error.
"""

import os
import re
import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.changes import add_category, add_item
from catalog.extensions import db
from catalog.models import User
from catalog.search import syntax

FUZZ = settings(
    max_examples=500 if os.environ.get("CATALOG_FUZZ_PROFILE") == "deep" else 40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

SHELF = [
    ("Waterproof Jacket", "Keeps the rain out."),
    ("Fleece Jacket", "Warm on cold evenings."),
    ("Jacket Waterproofing Spray", "Renews a waterproof jacket's finish."),
    ("Rain Poncho", "Waterproof, and lighter than a jacket."),
    ("Tent", "Two-person tent for camping trips."),
    ("Stove", "Two burners; packs into its own pot."),
    ("Running Shoes", "Light trail shoes."),
    ("Headlamp", "Bright; runs on AAA batteries."),
    ("Café Table", "Folds flat, 3.5 kg."),
]
JACKETS = ["Fleece Jacket", "Jacket Waterproofing Spray", "Rain Poncho", "Waterproof Jacket"]

# A search, and the items it finds on either database, by name.
CASES = [
    ("jacket", JACKETS),
    ("JACKET", JACKETS),
    ("jackets", JACKETS),  # stemmed
    ("jacket -waterproof", ["Fleece Jacket"]),  # "waterproofing" is stemmed, and excluded
    ("jacket -waterproof -fleece", []),
    ("tent or stove", ["Stove", "Tent"]),
    ("TENT OR STOVE", ["Stove", "Tent"]),
    ("tent or stove or headlamp", ["Headlamp", "Stove", "Tent"]),
    ("two burners or tent", ["Stove", "Tent"]),  # "or" binds looser than the words
    ("two -burners", ["Tent"]),
    ("tent stove", []),
    ('"waterproof jacket"', ["Jacket Waterproofing Spray", "Waterproof Jacket"]),
    ("waterproof jacket", ["Jacket Waterproofing Spray", "Rain Poncho", "Waterproof Jacket"]),
    ('"jacket waterproof"', ["Jacket Waterproofing Spray"]),
    ("jacket-waterproof", ["Jacket Waterproofing Spray"]),  # a hyphenated chunk is a phrase
    ('jacket -"waterproof jacket"', ["Fleece Jacket", "Rain Poncho"]),
    ('"two person"', ["Tent"]),
    ('"waterproof jacket', ["Jacket Waterproofing Spray", "Waterproof Jacket"]),  # unclosed
    ("run", ["Headlamp", "Running Shoes"]),
    ("battery", ["Headlamp"]),
    ("camp", ["Tent"]),
    ("3.5", ["Café Table"]),  # one word on PostgreSQL, two on SQLite: found on both
    ("café", ["Café Table"]),
    ("CAFÉ", ["Café Table"]),
    ("cafe", []),  # accents are kept, on both
    ("tent,", ["Tent"]),
    ("stove!", ["Stove"]),
    ("(tent)", ["Tent"]),
    ("tent*", ["Tent"]),
    ("^tent", ["Tent"]),
    ("tent AND", ["Tent"]),
    ("tent NOT stove", []),  # "not" is a stop word: tent and stove
    ("tent NEAR stove", []),
    ("name:stove", []),  # a phrase "name stove", not FTS5's column filter
    ("{name}: stove", []),
    ("the tent", ["Tent"]),  # stop words are dropped
    ("the", []),
    ('"or"', []),
    ("", []),
    ("!:*&|", []),
    ("-", []),
    ('"', []),
    ("-jacket", []),  # only what must not be there: nothing
    ("tent or -stove", ["Tent"]),  # and such an alternative is dropped
    ("or tent or", ["Tent"]),
    ("tent or or stove", ["Stove", "Tent"]),
    ("kayak", []),
    ("_", []),
    ("%", []),
]


@pytest.fixture
def shelf(app):
    with app.app_context():
        owner = User(issuer="https://issuer.example", subject="1", email="o@example.com", name="O")
        db.session.add(owner)
        gear = add_category("Gear")
        for name, description in SHELF:
            add_item(owner, gear, name, description)
        db.session.commit()


def found(page: str) -> list[str]:
    found = re.findall(r'<span class="name">(.+?)</span></a>', page)
    return sorted(re.sub(r"</?mark>", "", name) for name in found)


@pytest.mark.parametrize(("q", "expected"), CASES)
def test_the_same_search_finds_the_same_items(client, shelf, q, expected):
    page = client.get("/search", query_string={"q": q})
    assert page.status_code == 200
    assert found(page.get_data(as_text=True)) == expected
    api = client.get("/api/v1/items", query_string={"q": q, "limit": 100})
    if not q:
        assert api.status_code == 422  # the API asks for at least one character
        return
    assert api.status_code == 200
    assert sorted(item["name"] for item in api.get_json()["items"]) == expected


@pytest.mark.parametrize(
    ("q", "websearch", "fts5"),
    [
        ("tent", '"tent"', '(("tent"))'),
        (
            'jacket -"rain" or stove',
            '"jacket" -"rain" or "stove"',
            '(("jacket") NOT "rain") OR (("stove"))',
        ),
        ("NEAR(a b)", '"near a" "b"', '(("near a" AND "b"))'),
        ("3.5 two-person", '"3.5" "two person"', '(("3 5" AND "two person"))'),
        ("us@example.com", '"us@example.com"', '(("us example com"))'),
        ("-tent", "", '""'),
    ],
)
def test_searches_are_written_with_every_phrase_quoted(q, websearch, fts5):
    alternatives = syntax.parse(q)
    assert syntax.websearch(alternatives) == websearch
    assert syntax.fts5(alternatives) == fts5


def test_name_matches_leave_out_excluded_phrases():
    alternatives = syntax.parse("lamp -red or torch")
    assert syntax.fts5(alternatives, column="name") == 'name : (("lamp") OR ("torch"))'


@pytest.fixture(scope="module")
def fts5_table():
    connection = sqlite3.connect(":memory:")
    connection.execute(
        "CREATE VIRTUAL TABLE t USING fts5(name, description,"
        " tokenize='porter unicode61 remove_diacritics 0')"
    )
    connection.execute("INSERT INTO t VALUES ('Tent', 'For two'), ('Stove', 'NEAR the tent')")
    yield connection
    connection.close()


@FUZZ
@given(q=st.text(max_size=60) | st.text(alphabet='-"orORAND NOT*^:(){}+ab', max_size=30))
def test_fts5_takes_whatever_is_typed(fts5_table, q):
    alternatives = syntax.parse(q)
    for expression in (syntax.fts5(alternatives), syntax.fts5(alternatives, column="name")):
        fts5_table.execute("SELECT rowid FROM t WHERE t MATCH ?", (expression,)).fetchall()


@FUZZ
@given(q=st.text(max_size=60) | st.text(alphabet='-"orORAND NOT*^:(){}+ab ', max_size=30))
def test_the_page_and_the_api_answer_whatever_is_typed(client, shelf, q):
    # Control characters are taken out (PostgreSQL refuses NUL); anything else is a search.
    assert client.get("/search", query_string={"q": q}).status_code == 200
    # The API refuses a search of blanks or control characters (422).
    api = client.get("/api/v1/items", query_string={"q": q})
    assert api.status_code in (200, 422), api.get_data(as_text=True)
