import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from catalog.extensions import db
from catalog.models import ITEM_SEARCH_COLUMN, ITEM_SEARCH_INDEX, include_name, include_object

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
                connection,
                opts={
                    "compare_type": True,
                    "compare_server_default": True,
                    # As migrations/env.py does: the search column is PostgreSQL's alone,
                    # and SQLite's search index is FTS5's tables.
                    "include_object": include_object,
                    "include_name": include_name,
                },
            )
            differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_pages_have_indexes(database_url, app):
    with app.app_context():
        inspector = inspect(db.engine)
        indexes = {tuple(i["column_names"]) for i in inspector.get_indexes("items")}
        uniques = {tuple(u["column_names"]) for u in inspector.get_unique_constraints("items")}
    assert ("created", "id") in indexes  # home page and feed: newest first
    assert ("owner_id", "id") in indexes  # a user's items, newest first
    assert ("category_id", "created", "id") in indexes  # a category's, newest first
    assert ("category_id", "updated", "id") in indexes  # a category's, by latest change
    assert ("category_id", "slug") in uniques | indexes  # category pages, item lookup


def test_postgresql_keeps_a_generated_search_column_that_the_models_leave_out(
    empty_database_url, make_app
):
    app = make_app(SQLALCHEMY_DATABASE_URI=empty_database_url)
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite searches with FTS5: no search column")
        upgrade()
        with db.engine.connect() as connection:
            column = connection.execute(
                text(
                    "SELECT is_generated, generation_expression FROM information_schema.columns"
                    " WHERE table_name = 'items' AND column_name = :name"
                ),
                {"name": ITEM_SEARCH_COLUMN},
            ).one()
            indexes = dict(
                connection.execute(
                    text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'items'")
                ).all()
            )
            # Without the hook, autogenerate would drop what the models do not describe.
            context = MigrationContext.configure(connection)
            unhooked = compare_metadata(context, db.metadata)
    assert column.is_generated == "ALWAYS"
    assert "setweight(to_tsvector('english'::regconfig, (name)::text), 'A'::\"char\")" in (
        column.generation_expression
    )
    assert "(description)::text), 'B'::\"char\")" in column.generation_expression
    assert indexes[ITEM_SEARCH_INDEX].endswith(f"USING gin ({ITEM_SEARCH_COLUMN})")
    assert "ix_items_search" not in indexes  # the expression index it replaced
    assert sorted((d[0], getattr(d[-1], "name", None)) for d in unhooked) == [
        ("remove_column", ITEM_SEARCH_COLUMN),
        ("remove_index", ITEM_SEARCH_INDEX),
    ]


def test_0006_adds_pictures_to_a_populated_database_and_back(empty_database_url, make_app):
    """Items keep every row and reference through the upgrade, and get no picture."""
    from catalog.seed import seed_demo

    app = make_app(SQLALCHEMY_DATABASE_URI=empty_database_url)
    columns = "id, category_id, owner_id, name, slug, description, created, updated, version"

    def read(sql: str) -> list:
        # Each read ends its transaction, so that a migration never waits on its locks.
        rows = db.session.execute(text(sql)).all()
        db.session.commit()
        return rows

    with app.app_context():
        upgrade()
        seed_demo()
        downgrade(revision="0005")
        before = read(f"SELECT {columns} FROM items ORDER BY id")
        assert before
        upgrade()
        assert read(f"SELECT {columns} FROM items ORDER BY id") == before
        assert set(read("SELECT image_sha256, image_alt FROM items")) == {(None, "")}
        assert {"images", "image_files"} <= set(inspect(db.engine).get_table_names())
        downgrade(revision="0005")
        assert read(f"SELECT {columns} FROM items ORDER BY id") == before
        assert not {"images", "image_files"} & set(inspect(db.engine).get_table_names())


def test_0007_keeps_old_slugs_alongside_a_populated_database_and_back(empty_database_url, make_app):
    """The old-slug tables come and go without touching items; renames fill them."""
    from catalog.changes import change_item
    from catalog.models import Item
    from catalog.seed import seed_demo

    app = make_app(SQLALCHEMY_DATABASE_URI=empty_database_url)
    tables = {"old_category_slugs", "old_item_slugs"}

    def read(sql: str) -> list:
        rows = db.session.execute(text(sql)).all()
        db.session.commit()
        return rows

    with app.app_context():
        upgrade()
        seed_demo()
        downgrade(revision="0006")
        assert not tables & set(inspect(db.engine).get_table_names())
        before = read("SELECT id, category_id, slug, version FROM items ORDER BY id")
        assert before
        upgrade()
        assert tables <= set(inspect(db.engine).get_table_names())
        assert read("SELECT id, category_id, slug, version FROM items ORDER BY id") == before
        item = db.session.get(Item, before[0][0])
        change_item(item, item.version, name="Renamed before a downgrade")
        db.session.commit()
        assert read("SELECT slug FROM old_item_slugs") == [(before[0][2],)]
        downgrade(revision="0006")
        assert not tables & set(inspect(db.engine).get_table_names())


def test_sqlite_search_index_follows_the_items_at_head(empty_database_url, make_app):
    """Items there before 0008 are indexed, and its triggers outlive every later revision."""
    app = make_app(SQLALCHEMY_DATABASE_URI=empty_database_url)
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("PostgreSQL searches its stored search_vector")
        upgrade(revision="0006")
        with db.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO users (id, issuer, subject, email, name, created)"
                    " VALUES (1, 'i', 's', 'e@example.com', 'E', CURRENT_TIMESTAMP)"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO categories (id, name, slug, description, created, item_count)"
                    " VALUES (1, 'Camping', 'camping', '', CURRENT_TIMESTAMP, 1)"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO items (id, category_id, owner_id, name, slug, description,"
                    " created, updated, version)"
                    " VALUES (1, 1, 1, 'Stove', 'stove', 'Two burners.',"
                    " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 1)"
                )
            )
        upgrade()
        with db.engine.connect() as connection:
            triggers = connection.execute(
                text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'items'")
            ).scalars()
            found = connection.execute(
                text("SELECT rowid FROM items_search WHERE items_search MATCH 'burner'")
            ).scalars()
            assert {"items_search_insert", "items_search_delete", "items_search_update"} <= set(
                triggers
            )
            assert list(found) == [1]
