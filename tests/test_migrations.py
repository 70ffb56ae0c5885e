from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from catalog.extensions import db

TABLES = {"users", "categories", "items"}


def test_upgrade_from_empty_and_downgrade_to_base(empty_database_url, make_app):
    app = make_app(SQLALCHEMY_DATABASE_URI=empty_database_url)
    with app.app_context():
        assert not TABLES & set(inspect(db.engine).get_table_names())

        upgrade()
        assert set(inspect(db.engine).get_table_names()) >= TABLES | {"alembic_version"}

        downgrade(revision="base")
        assert not TABLES & set(inspect(db.engine).get_table_names())

        # And back up again: the downgrade left nothing behind that blocks it.
        upgrade()
        assert set(inspect(db.engine).get_table_names()) >= TABLES


def test_migrated_schema_matches_the_models(empty_database_url, make_app):
    app = make_app(SQLALCHEMY_DATABASE_URI=empty_database_url)
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "compare_server_default": True}
            )
            differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_pages_have_indexes(database_url, app):
    with app.app_context():
        inspector = inspect(db.engine)
        indexes = {tuple(i["column_names"]) for i in inspector.get_indexes("items")}
        uniques = {tuple(u["column_names"]) for u in inspector.get_unique_constraints("items")}
    assert ("created", "id") in indexes  # home page and feed: newest first
    assert ("owner_id",) in indexes  # a user's items
    assert ("category_id", "slug") in uniques | indexes  # category pages, item lookup
