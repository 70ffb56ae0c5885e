"""Pictures in the database: stored once, attached to items, deleted with their last user."""

import threading
import time

import pytest
from sqlalchemy import func, select
from support import pictures
from support.api_data import seed_api_catalog

from catalog import changes
from catalog.extensions import db
from catalog.images import store
from catalog.images.processing import process
from catalog.models import Image, ImageFile, Item

LIMITS = {"max_bytes": 5_000_000, "max_pixels": 40_000_000}
RED = process(pictures.solid("PNG", color=(200, 0, 0)), **LIMITS)
BLUE = process(pictures.solid("PNG", color=(0, 0, 200)), **LIMITS)


@pytest.fixture
def seeded(app):
    return seed_api_catalog(app)


def counts() -> tuple[int, int]:
    """Return how many pictures and picture files the database holds."""
    return (
        db.session.scalar(select(func.count()).select_from(Image)),
        db.session.scalar(select(func.count()).select_from(ImageFile)),
    )


def show(item_id: int, picture) -> Item:
    """Give item ``item_id`` ``picture`` (None: none) as the forms and the API do; commit."""
    item = db.session.get(Item, item_id)
    changes.change_item(item, item.version, picture=picture)
    db.session.commit()
    return item


def test_an_identical_picture_is_stored_once(app, seeded):
    with app.app_context():
        show(seeded.items["ball"], RED)
        show(seeded.items["stick"], process(pictures.solid("PNG", color=(200, 0, 0)), **LIMITS))
        assert counts() == (1, len(RED.files))
        shas = db.session.scalars(select(Item.image_sha256).order_by(Item.id)).all()
        assert shas == [RED.sha256, RED.sha256]
        stored = db.session.get(Image, RED.sha256)
        assert (stored.width, stored.height, stored.format) == (64, 48, "png")
        data = {f.variant: f.data for f in stored.files}
        assert data == {f.variant: f.data for f in RED.files}


def test_a_picture_change_is_a_change_of_the_item(app, seeded):
    with app.app_context():
        before = db.session.get(Item, seeded.items["ball"])
        version, updated = before.version, before.updated
        item = show(seeded.items["ball"], RED)
        assert item.version == version + 1
        assert item.updated > updated
        # The same picture again changes nothing.
        assert show(seeded.items["ball"], RED).version == version + 1
        assert show(seeded.items["ball"], None).version == version + 2


def test_a_stale_version_changes_nothing(app, seeded):
    with app.app_context():
        item = db.session.get(Item, seeded.items["ball"])
        with pytest.raises(changes.StaleVersion):
            changes.change_item(item, item.version - 1, picture=RED)
        db.session.rollback()
        assert counts() == (0, 0)


def test_replacing_deletes_the_old_bytes_in_the_same_transaction(app, seeded):
    with app.app_context():
        show(seeded.items["ball"], RED)
        item = db.session.get(Item, seeded.items["ball"])
        changes.change_item(item, item.version, picture=BLUE)
        # Before the commit, in the same transaction: the red one is gone already.
        assert db.session.get(Image, RED.sha256) is None
        db.session.rollback()
        # Rolled back, both changes are undone together.
        assert db.session.get(Image, RED.sha256) is not None
        assert db.session.get(Image, BLUE.sha256) is None
        show(seeded.items["ball"], BLUE)
        assert counts() == (1, len(BLUE.files))
        assert db.session.get(Image, BLUE.sha256) is not None


def test_garbage_goes_with_the_last_item_using_it_and_not_before(app, seeded):
    with app.app_context():
        show(seeded.items["ball"], RED)
        show(seeded.items["stick"], RED)
        show(seeded.items["ball"], None)  # the stick still shows it
        assert counts() == (1, len(RED.files))
        stick = db.session.get(Item, seeded.items["stick"])
        changes.remove_item(stick, stick.version)  # its last user is deleted
        db.session.commit()
        assert counts() == (0, 0)


def test_deleting_an_item_whose_attributes_expired_still_collects_its_picture(app, seeded):
    with app.app_context():
        show(seeded.items["ball"], RED)
        item = db.session.get(Item, seeded.items["ball"])
        db.session.expire(item)
        changes.remove_item(item)
        db.session.commit()
        assert counts() == (0, 0)


def test_a_new_item_with_a_picture(app, seeded):
    with app.app_context():
        item = db.session.get(Item, seeded.items["ball"])
        added = changes.add_item(item.owner, item.category, "Spare Ball", picture=RED)
        db.session.commit()
        assert (added.version, added.image_sha256) == (1, RED.sha256)
        assert added.image.width == 64


@pytest.mark.postgresql_only
def test_a_picture_attached_while_its_last_user_drops_it_is_kept(app, seeded):
    """One transaction attaches a stored picture to the stick while another removes it
    from the ball, its only user: the removal waits, then sees the stick and keeps it."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite lets one writer in at a time")
        show(seeded.items["ball"], RED)
    attached, may_commit, errors = threading.Event(), threading.Event(), []

    def attach_to_stick():
        try:
            with app.app_context():
                stick = db.session.get(Item, seeded.items["stick"])
                store.attach(stick, RED)  # stored already: holds it, key share
                db.session.flush()
                attached.set()
                may_commit.wait(10)
                db.session.commit()
        except Exception as exc:  # reported below, in the test's thread
            errors.append(exc)
            attached.set()

    def drop_from_ball():
        try:
            with app.app_context():
                show(seeded.items["ball"], None)
        except Exception as exc:
            errors.append(exc)

    first = threading.Thread(target=attach_to_stick)
    first.start()
    assert attached.wait(10)
    second = threading.Thread(target=drop_from_ball)
    second.start()
    time.sleep(0.5)
    assert second.is_alive(), "the removal should wait for the attaching transaction"
    may_commit.set()
    first.join(10)
    second.join(10)
    assert errors == []
    with app.app_context():
        assert db.session.get(Item, seeded.items["ball"]).image_sha256 is None
        assert db.session.get(Item, seeded.items["stick"]).image_sha256 == RED.sha256
        assert counts() == (1, len(RED.files))
