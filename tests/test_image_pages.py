"""Pictures on the pages: thumbnails in lists, the display size on the item, placeholders,
lazy loading below the first rows, and query counts that do not grow with the pictures."""

import re

import pytest
from sqlalchemy import update
from support import pictures

from catalog import changes
from catalog.extensions import db
from catalog.images import store
from catalog.images.processing import process
from catalog.models import Item
from catalog.seed import seed_demo, seed_synthetic

LIMITS = {"max_bytes": 5_000_000, "max_pixels": 40_000_000}
PORTRAIT = process(pictures.solid("JPEG", size=(900, 1600)), **LIMITS)
THUMB = re.compile(
    r'<picture class="thumb"><source type="image/webp" srcset="/images/([0-9a-f]{64})-200\.webp">'
    r'<img src="/images/\1-200\.jpg" width="(\d+)" height="(\d+)" alt="" decoding="async"'
    r'( loading="lazy")?></picture>'
)
PLACEHOLDER = '<span class="thumb thumb-empty" aria-hidden="true"></span>'


@pytest.fixture
def pictured(app):
    """The demo catalog and 3,000 more items, every one showing the same portrait picture."""
    with app.app_context():
        seed_demo()
        seed_synthetic(3000)
        store.save(PORTRAIT)
        db.session.execute(update(Item).values(image_sha256=PORTRAIT.sha256))
        db.session.commit()


@pytest.fixture
def demo(app):
    """The demo catalog (every item with a picture), the Match Ball with a portrait one and
    alt text, and one more item in Soccer without a picture."""
    with app.app_context():
        seed_demo()
        ball = db.session.query(Item).filter_by(slug="match-ball").one()
        changes.change_item(
            ball, ball.version, picture=PORTRAIT, image_alt="A white ball with black pentagons"
        )
        changes.add_item(ball.owner, ball.category, "Corner Flags", "Four, with poles.")
        db.session.commit()


def test_lists_show_thumbnails_with_their_size_and_lazy_below_the_first_rows(client, pictured):
    for url, eager in (("/", 3), ("/catalog/soccer/", 4), ("/search?q=synthetic", 4)):
        page = client.get(url).text
        found = THUMB.findall(page)
        assert len(found) >= 10, url
        assert {(w, h) for _, w, h, _ in found} == {("112", "200")}, url  # 900×1600 scaled
        lazy = [bool(lazy) for _, _, _, lazy in found]
        assert lazy == [False] * eager + [True] * (len(found) - eager), url
        assert PLACEHOLDER not in page


def test_an_item_without_a_picture_gets_a_placeholder(client, demo):
    page = client.get("/catalog/soccer/").text
    assert page.count(PLACEHOLDER) == 1  # the corner flags
    assert len(THUMB.findall(page)) == 7  # the seven demo items of Soccer
    item = client.get("/catalog/soccer/corner-flags/").text
    assert '<div class="display display-empty"><span>No picture</span></div>' in item
    assert "<picture" not in item
    home = client.get("/").text
    assert home.count(PLACEHOLDER) == 1  # the newest item is the corner flags


def test_the_item_page_shows_the_display_size_with_the_owners_alt_text(client, demo):
    page = client.get("/catalog/soccer/match-ball/").text
    assert (
        f'<picture class="display"><source type="image/webp" '
        f'srcset="/images/{PORTRAIT.sha256}-1200.webp"><img src="/images/{PORTRAIT.sha256}'
        f'-1200.jpg" width="675" height="1200" alt="A white ball with black pentagons" '
        f'decoding="async"></picture>'
    ) in page  # shown at once: it is what the page is about


def test_the_list_thumbnail_is_not_announced_twice(client, demo):
    page = client.get("/catalog/soccer/").text
    link = re.search(r'<a href="/catalog/soccer/match-ball/">(.*?)</a>', page).group(1)
    assert 'alt=""' in link
    assert '<span class="name">Match Ball</span>' in link


# The bound each page must keep however many pictures it shows (as tests/test_pages.py,
# the change marker included).
PAGE_QUERIES = {
    "/": 3,
    "/catalog/soccer/": 3,
    "/catalog/soccer/?after=m": 3,
    "/catalog/soccer/match-ball/": 2,
    "/search?q=synthetic": 3,
}


@pytest.mark.parametrize(("url", "bound"), PAGE_QUERIES.items())
def test_pictures_cost_pages_no_query(client, pictured, count_queries, url, bound):
    with count_queries() as queries:
        response = client.get(url)
    assert response.status_code == 200
    assert "/images/" in response.text
    assert len(queries) <= bound, "\n\n".join(queries)


def test_the_account_page_shows_initials_and_no_picture_from_elsewhere(app, client, auth):
    with app.app_context():
        seed_demo()
    auth.login("ada")
    page = client.get("/account").text
    assert '<span class="avatar" aria-hidden="true">AB</span>' in page
    # The only pictures are those of the person's items, from this site.
    sources = re.findall(r'<img src="([^"]+)"', page)
    assert sources
    assert all(source.startswith("/images/") for source in sources), sources
