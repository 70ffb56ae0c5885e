"""What the /search page shows of its results: how many, the matched words, by category."""

import re
from html import unescape

import pytest

from catalog.changes import add_category, add_item
from catalog.extensions import db
from catalog.models import User
from catalog.search.views import count_text, highlighted


@pytest.fixture
def racks(app):
    """Two categories; "lamp" in three items of Camping and one of Hiking."""
    with app.app_context():
        owner = User(issuer="https://issuer.example", subject="1", email="o@example.com", name="O")
        db.session.add(owner)
        camping, hiking = add_category("Camping"), add_category("Hiking")
        add_item(owner, camping, "Table Lamp", "Folding, for the campsite table.")
        add_item(owner, camping, "Torch", "A bright lamp for the tent, with a red mode.")
        add_item(owner, camping, "Lantern <b>", 'A lamp <script>alert("x")</script> & more.')
        add_item(owner, hiking, "Head Lamp", "Light on a strap.")
        add_item(owner, hiking, "Stove", "Two burners.")
        db.session.commit()


def page(client, **query) -> str:
    response = client.get("/search", query_string=query)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def names(html: str) -> list[str]:
    found = re.findall(r'<span class="name">(.+?)</span></a>', html)
    return [unescape(re.sub(r"</?mark>", "", name)) for name in found]


def test_counts_the_matches(client, racks):
    assert '<p class="result-count" role="status">4 items match.</p>' in page(client, q="lamp")
    assert "1 item matches." in page(client, q="burners")
    assert "result-count" not in page(client, q="kayak")


def test_the_count_covers_every_page(app, client, racks):
    app.config["ITEMS_PER_PAGE"] = 1
    second = page(client, q="lamp", page=2)
    assert "4 items match." in second
    assert len(names(second)) == 1


def test_counts_up_to_a_bound(client, racks, monkeypatch):
    monkeypatch.setattr("catalog.search.statements.COUNT_MAX", 3)
    monkeypatch.setattr("catalog.search.views.COUNT_MAX", 3)
    assert "Over 3 items match." in page(client, q="lamp")
    assert "3 items match in Camping." in page(client, q="lamp", category="camping")


@pytest.mark.parametrize(
    ("total", "text"),
    [(0, "0 items match"), (1, "1 item matches"), (1000, "1,000 items match")],
)
def test_count_text(total, text):
    assert count_text(total) == text


def test_count_text_past_the_bound():
    assert count_text(1001) == "Over 1,000 items match"


def test_matched_words_are_marked(client, racks):
    html = page(client, q="strap")
    assert '<p class="snippet">Light on a <mark>strap</mark>.</p>' in html
    named = page(client, q="torch")
    assert '<span class="name"><mark>Torch</mark></span>' in named


def test_marked_text_is_escaped(client, racks):
    html = page(client, q="lantern lamp")
    assert '<span class="name"><mark>Lantern</mark> &lt;b&gt;</span>' in html
    # SQLite shows the tag as text; PostgreSQL's ts_headline leaves tags out of a passage.
    assert "<script>" not in html
    assert "alert(&#34;x&#34;)" in html
    assert "<mark>lamp</mark>" in html


@pytest.mark.parametrize(
    ("marked", "html"),
    [
        ("a \x02b\x03 c", "a <mark>b</mark> c"),
        ("\x02<i>\x03", "<mark>&lt;i&gt;</mark>"),
        ("\x03x\x02y", "x<mark>y</mark>"),  # unpaired marks never leave a tag open
        ("\x02\x02x\x03\x03", "<mark>x</mark>"),
        ("<mark>", "&lt;mark&gt;"),
    ],
)
def test_highlighted_only_makes_paired_marks(marked, html):
    assert str(highlighted(marked)) == html


def test_filters_by_category(client, racks):
    html = page(client, q="lamp", category="hiking")
    assert names(html) == ["Head Lamp"]
    assert "1 item matches in Hiking." in html
    assert '<option value="hiking" selected>Hiking</option>' in html
    assert '<option value="">All categories</option>' in html
    assert sorted(names(page(client, q="lamp", category=""))) == [
        "Head Lamp",
        "Lantern <b>",
        "Table Lamp",
        "Torch",
    ]


def test_pages_keep_the_category(app, client, racks):
    app.config["ITEMS_PER_PAGE"] = 2
    html = page(client, q="lamp", category="camping")
    assert 'rel="next" href="/search?q=lamp&amp;category=camping&amp;page=2"' in html
    second = page(client, q="lamp", category="camping", page=2)
    assert len(names(second)) == 1
    assert 'rel="prev" href="/search?q=lamp&amp;category=camping&amp;page=1"' in second


@pytest.mark.parametrize("category", ["nosuch", "x" * 300, "\x00"])
def test_unknown_category_is_400(client, racks, category):
    response = client.get("/search", query_string={"q": "lamp", "category": category})
    assert response.status_code == 400
    assert "no such category" in response.get_data(as_text=True)
