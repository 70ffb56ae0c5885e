"""Old URLs keep working: renamed and moved items and categories, and other letter cases, 301."""

from urllib.parse import quote

import pytest
from sqlalchemy import func, select
from support.api_data import seed_api_catalog
from support.html_forms import submit

from catalog.changes import add_category, add_item
from catalog.demo import DEMO_ISSUER
from catalog.extensions import db
from catalog.models import Category, Item, OldCategorySlug, OldItemSlug, User


@pytest.fixture
def catalog(app):
    """Soccer (Ada's Match Ball) and Hockey; Ada is an admin."""
    app.config["CATALOG_ADMINS"] = frozenset({"ada@example.com"})
    with app.app_context():
        ada = User(issuer=DEMO_ISSUER, subject="ada", email="ada@example.com", name="Ada")
        soccer = add_category("Soccer")
        add_category("Hockey")
        add_item(ada, soccer, "Match Ball", "Size 5.")
        db.session.commit()


@pytest.fixture
def ada(catalog, signed_in):
    return signed_in("ada")


def moved(client, url, to):
    response = client.get(url)
    assert response.status_code == 301, (url, response.status_code)
    assert response.headers["Location"] == to
    assert client.get(to).status_code == 200


def test_a_renamed_item_keeps_every_old_url(app, ada):
    submit(ada, "/catalog/soccer/match-ball/edit", {"name": "Training Ball"})
    submit(ada, "/catalog/soccer/training-ball/edit", {"name": "Futsal Ball"})
    for old in ("/catalog/soccer/match-ball/", "/catalog/soccer/training-ball/"):
        # Straight to the current URL, not through each name it had.
        moved(ada, old, "/catalog/soccer/futsal-ball/")
    assert ada.get("/catalog/soccer/no-such-ball/").status_code == 404


def test_a_moved_item_keeps_its_old_url(app, ada):
    with app.app_context():
        hockey_id = db.session.scalar(select(Category.id).where(Category.slug == "hockey"))
    _, response = submit(ada, "/catalog/soccer/match-ball/edit", {"category": str(hockey_id)})
    assert response.headers["Location"] == "/catalog/hockey/match-ball/"
    moved(ada, "/catalog/soccer/match-ball/", "/catalog/hockey/match-ball/")


def test_a_renamed_category_keeps_its_urls_and_its_items(app, ada):
    _, response = submit(ada, "/categories/soccer/edit", {"name": "Football"})
    assert response.headers["Location"] == "/catalog/football/"
    moved(ada, "/catalog/soccer/", "/catalog/football/")
    moved(ada, "/catalog/soccer/?after=a", "/catalog/football/?after=a")  # the page kept
    moved(ada, "/catalog/soccer/match-ball/", "/catalog/football/match-ball/")
    # An item renamed after its category was: its oldest URL still finds it.
    submit(ada, "/catalog/football/match-ball/edit", {"name": "Ball"})
    moved(ada, "/catalog/soccer/match-ball/", "/catalog/football/ball/")


@pytest.mark.parametrize(
    ("url", "to"),
    [
        ("/catalog/SOCCER/", "/catalog/soccer/"),
        ("/catalog/Soccer/?after=m", "/catalog/soccer/?after=m"),
        ("/catalog/Soccer/Match-Ball/", "/catalog/soccer/match-ball/"),
        ("/catalog/soccer/MATCH-BALL/", "/catalog/soccer/match-ball/"),
    ],
)
def test_other_letter_cases_lead_to_the_canonical_url(ada, url, to):
    moved(ada, url, to)


def test_letter_cases_of_other_scripts_and_old_slugs_together(app, ada):
    submit(ada, "/categories/new", {"name": "Книги"})
    moved(ada, quote("/catalog/КНИГИ/"), quote("/catalog/книги/"))
    submit(ada, "/catalog/soccer/match-ball/edit", {"name": "Ball"})
    moved(ada, "/catalog/Soccer/Match-Ball/", "/catalog/soccer/ball/")


def test_a_live_item_wins_over_an_old_slug(app, ada):
    submit(ada, "/catalog/soccer/match-ball/edit", {"name": "Old Ball"})
    with app.app_context():
        soccer = db.session.scalar(select(Item.category_id))
    _, added = submit(ada, "/catalog/new", {"name": "Match Ball", "category": str(soccer)})
    assert added.headers["Location"] == "/catalog/soccer/match-ball/"
    assert ada.get("/catalog/soccer/match-ball/").status_code == 200
    # Renamed again, the newer item's old slug is the one that counts.
    submit(ada, "/catalog/soccer/match-ball/edit", {"name": "New Ball"})
    moved(ada, "/catalog/soccer/match-ball/", "/catalog/soccer/new-ball/")


def test_deleting_an_item_or_a_category_forgets_its_old_slugs(app, ada):
    submit(ada, "/catalog/soccer/match-ball/edit", {"name": "Ball"})
    submit(ada, "/categories/hockey/edit", {"name": "Ice Hockey"})
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OldItemSlug)) == 1
        assert db.session.scalar(select(func.count()).select_from(OldCategorySlug)) == 1
    _, deleted = submit(ada, "/catalog/soccer/ball/delete")
    assert deleted.status_code == 302
    _, deleted = submit(ada, "/categories/ice-hockey/delete")
    assert deleted.status_code == 302
    assert ada.get("/catalog/soccer/match-ball/").status_code == 404
    assert ada.get("/catalog/hockey/").status_code == 404
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OldItemSlug)) == 0
        assert db.session.scalar(select(func.count()).select_from(OldCategorySlug)) == 0


def test_a_rename_through_the_api_keeps_the_old_url(app):
    seeded = seed_api_catalog(app)
    client = app.test_client()
    response = client.patch(
        f"/api/v1/items/{seeded.items['ball']}",
        json={"name": "Futsal Ball", "category": "hockey"},
        headers=seeded.bearer("ada"),
    )
    assert response.status_code == 200
    moved(client, "/catalog/soccer/match-ball/", "/catalog/hockey/futsal-ball/")


def test_pages_that_are_found_run_no_more_queries(ada, app, count_queries):
    anonymous = app.test_client()
    submit(ada, "/catalog/soccer/match-ball/edit", {"name": "Ball"})
    # Each page reads the change marker (its ETag) first.
    for url, bound in [("/catalog/soccer/", 3), ("/catalog/soccer/ball/", 2)]:
        with count_queries() as queries:
            assert anonymous.get(url).status_code == 200
        assert len(queries) == bound, queries
    # A miss costs one statement more: where the URL's item or category is now.
    for url in ["/catalog/Soccer/", "/catalog/soccer/match-ball/", "/catalog/SOCCER/BALL/"]:
        with count_queries() as queries:
            assert anonymous.get(url).status_code == 301
        assert len(queries) == 3, queries
    for url in ["/catalog/curling/", "/catalog/soccer/stone/"]:
        with count_queries() as queries:
            assert anonymous.get(url).status_code == 404
        assert len(queries) == 3, queries
