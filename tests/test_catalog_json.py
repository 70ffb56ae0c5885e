"""/catalog.json: the whole catalog, streamed in a fixed number of queries and bounded memory."""

import gc
import json
import os
import tempfile
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update
from support import pictures

from catalog import feeds
from catalog.changes import add_category, add_item, change_item
from catalog.extensions import db
from catalog.images import store
from catalog.images.processing import process
from catalog.models import Item, User
from catalog.seed import seed_demo, seed_synthetic

LARGE = 100_000
# Growth of the process's resident memory allowed while streaming LARGE items: a few
# chunks of rows and JSON plus the allocator's slack, far below the ~47 MiB document
# (building it whole grows the process by about twice that).
GROWTH_MAX = 32 * 2**20
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
LIMITS = {"max_bytes": 5_000_000, "max_pixels": 40_000_000}
PICTURE = process(pictures.solid("JPEG", size=(1600, 1200)), **LIMITS)


@pytest.fixture
def demo(app):
    with app.app_context():
        seed_demo()
        add_category("Curling")  # no items yet
        db.session.commit()


def test_every_category_with_its_items(client, demo):
    response = client.get("/catalog.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    categories = response.get_json()["categories"]
    assert [c["slug"] for c in categories][-1] == "curling"
    assert categories[-1]["items"] == []
    for category in categories:
        assert len(category["items"]) == category["item_count"]
        assert {i["category"]["slug"] for i in category["items"]} <= {category["slug"]}
        slugs = [i["slug"] for i in category["items"]]
        assert slugs == sorted(slugs)
    soccer = next(c for c in categories if c["slug"] == "soccer")
    assert soccer["url"] == "http://localhost/catalog/soccer/"
    ball = next(i for i in soccer["items"] if i["slug"] == "match-ball")
    assert ball["url"] == "http://localhost/catalog/soccer/match-ball/"
    assert ball["owner"]["name"] == "Ada Brooks"


@pytest.fixture
def awkward(app):
    """The demo catalog plus text, slugs and timestamps that are easy to write wrongly as JSON."""
    with app.app_context():
        seed_demo()
        owner = db.session.scalars(select(User).order_by(User.id)).first()
        owner.name = 'Zoë "Z" O\'Neil \\ 🎉'
        war = add_category("Война и мир", "Слова в «кавычках»")  # a slug that URLs quote
        ink = add_item(owner, war, "Ручка «Люкс»", 'Quotes " and \\, tab\t, lines\n\r, \b\f')
        add_item(owner, war, "Bell", "Controls \x01\x1f\x7f, separators \u2028\u2029, é, 𝄞")
        odd = add_item(owner, war, "Odd slug")
        odd.slug = "a b?c%d/é~_."  # not slugify's, but quote() must still agree
        db.session.commit()
        # Pictures, one with alt text that is easy to write wrongly, one without (the name).
        change_item(ink, ink.version, picture=PICTURE, image_alt='Ручка "Люкс" \\ 🎉\t')
        change_item(odd, odd.version, picture=process(pictures.solid("PNG"), **LIMITS))
        whole = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)  # isoformat() drops a zero fraction
        ink.created, ink.updated = whole, whole.replace(microsecond=7)
        db.session.commit()


def test_the_document_is_what_item_fields_and_links_make(app, client, awkward, monkeypatch):
    postgresql_items, used = feeds._postgresql_items, []
    monkeypatch.setattr(
        feeds, "_postgresql_items", lambda links: used.append(links) or postgresql_items(links)
    )
    served = client.get("/catalog.json").get_data()
    with app.app_context():
        assert bool(used) == (db.engine.dialect.name == "postgresql")
    # The reference: every item through item_fields and Links, dumped by json.dumps.
    monkeypatch.setattr(feeds, "_postgresql_items", feeds._python_items)
    reference = client.get("/catalog.json").get_data()
    assert served == reference
    items = [i for c in json.loads(served)["categories"] for i in c["items"]]
    ink = next(i for i in items if i["name"] == "Ручка «Люкс»")
    assert ink["created"] == "2025-01-02T03:04:05+00:00"
    assert ink["updated"] == "2025-01-02T03:04:05.000007+00:00"
    assert ink["url"].startswith("http://localhost/catalog/%D0%B2%D0%BE%D0%B9%D0%BD%D0%B0-")
    odd = next(i for i in items if i["name"] == "Odd slug")
    assert odd["url"].endswith("/a%20b%3Fc%25d/%C3%A9~_./")
    assert ink["image"]["alt"] == ink["image_alt"] == 'Ручка "Люкс" \\ 🎉\t'
    assert ink["image"]["thumbnail"]["jpeg"] == f"http://localhost/images/{PICTURE.sha256}-200.jpg"
    assert (ink["image"]["width"], ink["image"]["display"]["width"]) == (1600, 1200)
    assert odd["image"]["alt"] == "Odd slug"
    assert odd["image"]["url"].endswith("-full.png")
    bell = next(i for i in items if i["name"] == "Bell")
    assert bell["image"] is None
    assert bell["image_alt"] == ""


def test_empty_catalog(client):
    assert client.get("/catalog.json").get_json() == {"categories": []}


def test_query_count_does_not_grow_with_the_catalog(app, client, demo, count_queries):
    with count_queries() as small:
        client.get("/catalog.json").get_data()
    with app.app_context():
        seed_synthetic(3000)
        # Every item with a picture: still the same two statements.
        store.save(PICTURE)
        db.session.execute(update(Item).values(image_sha256=PICTURE.sha256))
        db.session.commit()
    with count_queries() as large:
        document = json.loads(client.get("/catalog.json").get_data())
    # The change marker (its ETag), the categories, the items.
    assert len(small) == len(large) == 3, large
    assert all(i["image"] for c in document["categories"] for i in c["items"])


def resident() -> int:
    """Return this process's resident memory in bytes."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE_SIZE


def stream_to_file(client, sink) -> tuple[int, int, int]:
    """Stream /catalog.json into ``sink``; return bytes, chunks and peak memory growth.

    Resident memory is sampled after every chunk. (tracemalloc would count Python's
    allocations exactly, but makes this run ten times slower.)
    """
    gc.collect()
    baseline = peak = resident()
    response = client.get("/catalog.json", buffered=False)
    assert response.status_code == 200
    size = chunks = 0
    for chunk in response.response:
        data = chunk.encode() if isinstance(chunk, str) else chunk
        sink.write(data)
        size += len(data)
        chunks += 1
        peak = max(peak, resident())
    response.close()
    return size, chunks, peak - baseline


@pytest.mark.slow
def test_a_hundred_thousand_items_in_bounded_queries_and_memory(app, client, demo, count_queries):
    with app.app_context():
        started = time.perf_counter()
        seed_synthetic(LARGE)
        seeded_in = time.perf_counter() - started
    with tempfile.TemporaryFile() as sink, count_queries() as queries:
        started = time.perf_counter()
        size, chunks, growth = stream_to_file(client, sink)
        streamed_in = time.perf_counter() - started
        sink.seek(0)
        before_load = resident()
        document = json.load(sink)
        # What holding the whole catalog costs, measured the same way: the yardstick.
        whole = resident() - before_load

    items = sum(len(c["items"]) for c in document["categories"])
    print(
        f"\n/catalog.json with {items:,} items: {size / 2**20:.1f} MiB in {chunks} chunks, "
        f"{len(queries)} queries, resident memory grew {growth / 2**20:.1f} MiB "
        f"(loading the document whole: {whole / 2**20:.0f} MiB), "
        f"streamed in {streamed_in:.1f} s (seeded in {seeded_in:.1f} s)"
    )
    assert items >= LARGE
    assert len(queries) == 3, queries
    assert chunks > 100  # written as it is read, not built whole
    assert growth < GROWTH_MAX
    assert growth < whole / 4
