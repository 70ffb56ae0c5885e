import io

from PIL import Image as Picture
from sqlalchemy import func, select

from catalog import demo
from catalog.extensions import db
from catalog.models import Category, Image, ImageFile, Item, User


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_seed_loads_the_demo_catalog(app, runner):
    result = runner.invoke(args=["seed"])
    assert result.exit_code == 0, result.output
    assert "Loaded the demo catalog" in result.output
    with app.app_context():
        assert count(Category) == len(demo.CATALOG) >= 10
        assert count(Item) == sum(len(items) for _, _, items in demo.CATALOG) >= 60
        assert count(User) == len(demo.USERS)
        counts = dict(db.session.execute(select(Category.slug, Category.item_count)).all())
        assert counts["soccer"] == 7


def test_seed_is_idempotent(app, runner):
    runner.invoke(args=["seed"])
    with app.app_context():
        before = (count(Category), count(Item), count(User))
    result = runner.invoke(args=["seed"])
    assert result.exit_code == 0
    assert "already has data" in result.output
    with app.app_context():
        assert (count(Category), count(Item), count(User)) == before


def test_seed_items_adds_exactly_n_and_keeps_counts_right(app, runner):
    runner.invoke(args=["seed"])
    with app.app_context():
        before = count(Item)
    for _ in range(2):  # a second run must not collide with the first one's slugs
        result = runner.invoke(args=["seed", "--items", "1234"])
        assert result.exit_code == 0, result.output
        assert "Added 1,234 items" in result.output
    with app.app_context():
        assert count(Item) == before + 2 * 1234
        total = db.session.scalar(select(func.sum(Category.item_count)))
        assert total == count(Item)


def test_seed_items_on_an_empty_database_loads_demo_first(app, runner):
    result = runner.invoke(args=["seed", "--items", "5"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert count(Item) == sum(len(items) for _, _, items in demo.CATALOG) + 5


def test_seed_rejects_n_below_one(app, runner):
    for bad in ("0", "-3", "many"):
        result = runner.invoke(args=["seed", "--items", bad])
        assert result.exit_code == 2
        assert "Invalid value for '--items'" in result.output
    with app.app_context():
        assert count(Item) == 0


def test_every_demo_item_gets_a_picture_of_its_own_drawn_on_the_spot(app, runner):
    result = runner.invoke(args=["seed"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        shas = db.session.scalars(select(Item.image_sha256)).all()
        assert None not in shas
        assert len(set(shas)) == len(shas) == count(Image)
        assert count(ImageFile) == 5 * len(shas)
        versions = set(db.session.scalars(select(Item.version)))
    assert versions == {1}  # made with their pictures, not changed afterwards
    client = app.test_client()
    served = client.get(f"/images/{shas[0]}-full.jpg")
    assert Picture.open(io.BytesIO(served.data)).size == (640, 480)
    page = client.get("/catalog/soccer/").text
    assert page.count('<picture class="thumb">') == 7
