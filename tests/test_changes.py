import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.changes import (
    CategoryNotEmpty,
    DuplicateName,
    StaleVersion,
    add_category,
    add_item,
    can_change,
    change_category,
    change_item,
    is_admin,
    remove_category,
    remove_item,
)
from catalog.extensions import db
from catalog.models import Category, Item, User


@pytest.fixture
def ctx(app):
    app.config["CATALOG_ADMINS"] = frozenset({"boss@example.com"})
    with app.app_context():
        owner = User(issuer="https://idp.test", subject="1", email="o@example.com", name="Owner")
        other = User(issuer="https://idp.test", subject="2", email="x@example.com", name="Other")
        boss = User(issuer="https://idp.test", subject="3", email="Boss@Example.com", name="Boss")
        db.session.add_all([owner, other, boss])
        books = add_category("Books", "Paper.")
        games = add_category("Games")
        db.session.commit()
        yield {"owner": owner, "other": other, "boss": boss, "books": books, "games": games}


def counts():
    return dict(db.session.execute(select(Category.slug, Category.item_count)).all())


def test_owner_and_admin_may_change_others_may_not(ctx):
    item = add_item(ctx["owner"], ctx["books"], "Dune")
    assert can_change(ctx["owner"], item)
    assert can_change(ctx["boss"], item)
    assert is_admin(ctx["boss"])
    assert not can_change(ctx["other"], item)
    assert not can_change(None, item)


def test_duplicate_name_in_a_category_is_refused_by_the_database(ctx):
    add_item(ctx["owner"], ctx["books"], "Dune")
    db.session.commit()
    with pytest.raises(DuplicateName, match="Books already has an item called “DUNE!”"):
        add_item(ctx["other"], db.session.get(Category, ctx["books"].id), "DUNE!")
    assert db.session.scalar(select(func.count()).select_from(Item)) == 1


def test_same_name_in_another_category_is_fine(ctx):
    add_item(ctx["owner"], ctx["books"], "Dune")
    add_item(ctx["owner"], ctx["games"], "Dune")
    db.session.commit()
    assert counts() == {"books": 1, "games": 1}


def test_item_counts_follow_adds_moves_and_deletes(ctx):
    item = add_item(ctx["owner"], ctx["books"], "Dune")
    add_item(ctx["owner"], ctx["books"], "Emma")
    db.session.commit()
    assert counts() == {"books": 2, "games": 0}
    change_item(item, item.version, category=ctx["games"])
    db.session.commit()
    assert counts() == {"books": 1, "games": 1}
    remove_item(item)
    db.session.commit()
    assert counts() == {"books": 1, "games": 0}


def test_edit_bumps_version_and_slug(ctx):
    item = add_item(ctx["owner"], ctx["books"], "Dune")
    db.session.commit()
    change_item(item, 1, name="  Dune Messiah ", description="Sequel.")
    db.session.commit()
    assert (item.name, item.slug, item.version) == ("Dune Messiah", "dune-messiah", 2)


def test_edit_from_an_old_version_is_refused(ctx):
    item = add_item(ctx["owner"], ctx["books"], "Dune")
    db.session.commit()
    change_item(item, 1, description="First edit.")
    db.session.commit()
    with pytest.raises(StaleVersion):
        change_item(item, 1, description="Edit from a stale form.")
    assert db.session.get(Item, item.id).description == "First edit."


def test_concurrent_edit_is_refused_not_lost(ctx):
    item = add_item(ctx["owner"], ctx["books"], "Dune")
    db.session.commit()
    item_id = item.id
    assert item.version == 1  # this session has read version 1

    with Session(db.engine) as other:  # someone else saves first
        theirs = other.get(Item, item_id)
        theirs.description = "Their edit."
        other.commit()

    with pytest.raises(StaleVersion):
        change_item(item, 1, description="My edit.")
    db.session.expire_all()
    saved = db.session.get(Item, item_id)
    assert (saved.description, saved.version) == ("Their edit.", 2)


def test_delete_from_an_old_version_is_refused(ctx):
    item = add_item(ctx["owner"], ctx["books"], "Dune")
    db.session.commit()
    change_item(item, 1, description="Changed.")
    db.session.commit()
    with pytest.raises(StaleVersion):
        remove_item(item, version=1)
    assert db.session.get(Item, item.id) is not None


def test_category_with_items_cannot_be_removed(ctx):
    add_item(ctx["owner"], ctx["books"], "Dune")
    db.session.commit()
    with pytest.raises(CategoryNotEmpty, match="Books still holds 1 item"):
        remove_category(ctx["books"])
    remove_category(ctx["games"])
    db.session.commit()
    assert set(counts()) == {"books"}


def test_category_rename_and_duplicate(ctx):
    change_category(ctx["games"], "Board Games", "Cardboard.")
    db.session.commit()
    assert ctx["games"].slug == "board-games"
    with pytest.raises(DuplicateName, match="already a category called “books”"):
        change_category(db.session.get(Category, ctx["games"].id), "books", "")
