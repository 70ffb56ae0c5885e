"""The Atom feed of the newest items: valid, newest first, with ids that never change."""

import re
from datetime import timedelta

import feedparser
import pytest
from sqlalchemy import update
from support import pictures

from catalog.changes import add_category, add_item, change_item
from catalog.demo import DEMO_ISSUER
from catalog.extensions import db
from catalog.feeds import FEED_ENTRIES
from catalog.images.processing import process
from catalog.models import Item, User, utcnow

FEED = "/catalog/latest.atom"


@pytest.fixture
def items(app):
    """Five items in two categories, added a minute apart; returns their ids, oldest first."""
    with app.app_context():
        owner = User(issuer=DEMO_ISSUER, subject="ada", email="ada@example.com", name="Ada Brooks")
        soccer, hockey = add_category("Soccer"), add_category("Hockey")
        ids = []
        start = utcnow() - timedelta(hours=1)
        for n, name in enumerate(["Ball", "Boots", "Stick", "Puck", "Whistle"]):
            item = add_item(owner, (soccer, hockey)[n % 2], name, f"About the {name.lower()}.")
            item.created = item.updated = start + timedelta(minutes=n)
            ids.append(item.id)
        db.session.commit()
        return ids


def parse(client):
    response = client.get(FEED)
    assert response.status_code == 200
    assert response.mimetype == "application/atom+xml"
    feed = feedparser.parse(response.get_data())
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    return feed


def test_feed_is_valid_atom_with_newest_first(client, items):
    feed = parse(client)
    assert feed.feed.title == "Catalog: latest items"
    assert feed.feed.id.startswith("tag:localhost,")
    assert [e.title for e in feed.entries] == ["Whistle", "Puck", "Stick", "Boots", "Ball"]
    published = [e.published_parsed for e in feed.entries]
    assert published == sorted(published, reverse=True)
    newest = feed.entries[0]
    assert newest.link == "http://localhost/catalog/soccer/whistle/"
    assert newest.author == "Ada Brooks"
    assert newest.summary == "About the whistle."
    assert newest.tags[0].term == "soccer"
    assert feed.feed.updated_parsed == newest.updated_parsed
    assert {link.rel: link.href for link in feed.feed.links}["self"] == "http://localhost" + FEED


def test_entry_ids_are_stable_tag_uris(app, client, items):
    before = {e.title: e.id for e in parse(client).entries}
    assert all(
        re.fullmatch(r"tag:localhost,\d{4}-\d\d-\d\d:catalog/items/\d+", i) for i in before.values()
    )
    assert len(set(before.values())) == len(before)
    with app.app_context():
        ball = db.session.get(Item, items[0])
        change_item(ball, ball.version, name="Match Ball", description="Renamed.")
        db.session.commit()
    after = {e.title: (e.id, e.updated_parsed) for e in parse(client).entries}
    assert after["Match Ball"][0] == before["Ball"]


def test_feed_holds_the_newest_items_only(app, client, items):
    with app.app_context():
        from catalog.seed import seed_synthetic

        seed_synthetic(FEED_ENTRIES + 10)
    entries = parse(client).entries
    assert len(entries) == FEED_ENTRIES
    assert "Whistle" not in [e.title for e in entries]
    # Items added in one batch share a timestamp; the newest id comes first among them.
    numbers = [int(e.id.rsplit("/", 1)[1]) for e in entries]
    assert numbers == sorted(numbers, reverse=True)


def test_empty_catalog_has_a_valid_feed(client):
    feed = parse(client)
    assert feed.entries == []
    assert feed.feed.updated_parsed is not None


def test_control_characters_in_old_rows_do_not_break_the_feed(app, client, items):
    with app.app_context():
        db.session.execute(
            update(Item).where(Item.id == items[-1]).values(description="Bell\x07 and form\x0c")
        )
        db.session.commit()
    assert parse(client).entries[0].summary == "Bell and form"


def test_pages_announce_the_feed(client, items):
    page = client.get("/").get_data(as_text=True)
    link = re.search(r'<link rel="alternate" type="application/atom\+xml"[^>]*href="([^"]+)"', page)
    assert link.group(1) == FEED


def test_feed_costs_one_query_and_the_marker(client, items, count_queries):
    with count_queries() as queries:
        parse(client)
    # The items, after the change marker (its ETag).
    assert len(queries) == 2, queries


def test_an_item_with_a_picture_links_it(app, client, items, count_queries):
    picture = process(pictures.solid("JPEG", size=(1600, 1200)), max_bytes=10**7, max_pixels=10**7)
    with app.app_context():
        whistle = db.session.get(Item, items[-1])
        change_item(whistle, whistle.version, picture=picture)
        db.session.commit()
    with count_queries() as queries:
        feed = parse(client)
    assert len(queries) == 2
    shown = [entry.get("media_content", []) for entry in feed.entries]
    assert [len(found) for found in shown] == [1, 0, 0, 0, 0]
    content = shown[0][0]
    assert content["url"] == f"http://localhost/images/{picture.sha256}-1200.jpg"
    assert (content["type"], content["medium"]) == ("image/jpeg", "image")
    assert (content["width"], content["height"]) == ("1200", "900")
    thumbnail = feed.entries[0].media_thumbnail[0]
    assert thumbnail["url"] == f"http://localhost/images/{picture.sha256}-200.jpg"
    assert (thumbnail["width"], thumbnail["height"]) == ("200", "150")
    assert client.get(content["url"]).mimetype == "image/jpeg"
    assert feed.entries[0].link == "http://localhost/catalog/soccer/whistle/"
