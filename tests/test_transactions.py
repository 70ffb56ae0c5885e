"""The view owns the transaction: helpers change data in savepoints, never commit or end it.

On SQLite that needs the driver to leave transactions to SQLAlchemy, with a BEGIN
before the first write or savepoint (catalog.extensions); the connection settings
made when SQLite connects must still hold.
"""

import pytest
from flask_migrate import upgrade
from sqlalchemy import func, select, text
from sqlalchemy.exc import PendingRollbackError

from catalog.changes import DuplicateName, StaleVersion, add_category, add_item, change_item
from catalog.extensions import db
from catalog.models import Category, Item, User
from catalog.oidc import upsert_user


def categories() -> list[str]:
    return list(db.session.scalars(select(Category.name).order_by(Category.name)))


def test_a_change_in_a_savepoint_is_undone_with_the_transaction(app):
    with app.app_context():
        add_category("Kites")
        db.session.rollback()
        assert categories() == []


def test_a_refused_change_leaves_the_transaction_and_its_earlier_work(app):
    with app.app_context():
        add_category("Kites")
        with pytest.raises(DuplicateName):
            add_category("KITES")
        # Only the savepoint was rolled back: the first category is still to be committed.
        assert categories() == ["Kites"]
        db.session.commit()
    with app.app_context():
        assert categories() == ["Kites"]


def test_a_stale_edit_rolls_back_its_savepoint_only(app):
    with app.app_context():
        owner = User(issuer="https://idp.test", subject="1", email="o@example.com", name="O")
        db.session.add(owner)
        item = add_item(owner, add_category("Kites"), "Box Kite")
        db.session.commit()
        add_category("Yo-yos")
        with pytest.raises(DuplicateName):
            add_category("yo-yos")
        refused = item.version + 1
        with pytest.raises(StaleVersion):
            change_item(item, refused, description="Stale.")
        assert categories() == ["Kites", "Yo-yos"]
        db.session.rollback()
        assert categories() == ["Kites"]
        assert db.session.scalar(select(func.count()).select_from(Item)) == 1


def test_without_a_savepoint_a_refusal_leaves_the_transaction_to_the_caller(app):
    with app.app_context():
        owner = User(issuer="https://idp.test", subject="1", email="o@example.com", name="O")
        db.session.add(owner)
        kites = add_category("Kites")
        add_item(owner, kites, "Box Kite")
        db.session.commit()
        with pytest.raises(DuplicateName):
            add_item(owner, kites, "BOX KITE", savepoint=False)
        # Neither rolled back nor committed: the failed flush is the caller's to drop.
        with pytest.raises(PendingRollbackError):
            categories()
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(Item)) == 1


def test_signing_in_does_not_commit_for_the_view(app):
    with app.app_context():
        upsert_user("https://idp.test", "someone", {"name": "Someone"})
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_sqlite_connections_keep_their_settings(make_app, tmp_path):
    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'settings.sqlite'}")
    with app.app_context():
        upgrade()
        pragma = {
            name: db.session.execute(text(f"PRAGMA {name}")).scalar()
            for name in ("foreign_keys", "journal_mode", "busy_timeout")
        }
        assert pragma == {"foreign_keys": 1, "journal_mode": "wal", "busy_timeout": 5000}
        # Reads run outside a transaction until something writes, as they did.
        assert db.session.connection().connection.dbapi_connection.in_transaction is False
        add_category("Kites")
        assert db.session.connection().connection.dbapi_connection.in_transaction is True
