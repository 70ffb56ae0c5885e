"""Search items on SQLite with FTS5, kept in step by triggers; index the listings' orders.

SQLite searched with LIKE, word by word, and so ignored the search syntax PostgreSQL
reads (quoted phrases, `or`, `-word`). items_search is an FTS5 index of each item's
name and description, an external-content table over items (it stores the index, not
a copy of the text), with the Porter stemmer over the unicode61 tokenizer, accents
kept (PostgreSQL's English configuration keeps them too). Three triggers keep it in
step with every insert, delete, and change of a name or a description, however the rows
are written (the ORM, `flask seed --items`, `flask import`). catalog/search/syntax.py
writes the searches it is asked.

SQLite only: PostgreSQL has its stored search_vector (revision 0005).

On both databases, three indexes for the pages that list items by keyset: a category's
items newest first, or by their latest change ((category_id, created, id) and
(category_id, updated, id)), and a user's items newest first ((owner_id, id), which
takes the place of the index on owner_id alone). Building them on PostgreSQL holds off
writes to items until they are built, a few seconds at a million items.

A later revision that rebuilds items in batch mode drops these triggers with the old
table: it must create them again (tests/test_migrations.py checks that they exist).

Revision ID: 0008
Revises: 0007

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

TABLE = "items_search"
COLUMNS = "name, description"
REMOVE_OLD = (
    f"INSERT INTO {TABLE}({TABLE}, rowid, {COLUMNS})"
    " VALUES ('delete', old.id, old.name, old.description);"
)
ADD_NEW = f"INSERT INTO {TABLE}(rowid, {COLUMNS}) VALUES (new.id, new.name, new.description);"
TRIGGERS = {
    f"{TABLE}_insert": f"AFTER INSERT ON items BEGIN {ADD_NEW} END",
    f"{TABLE}_delete": f"AFTER DELETE ON items BEGIN {REMOVE_OLD} END",
    f"{TABLE}_update": f"AFTER UPDATE OF {COLUMNS} ON items BEGIN {REMOVE_OLD} {ADD_NEW} END",
}


def _on_sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


INDEXES = {
    "ix_items_category_id_created_id": ["category_id", "created", "id"],
    "ix_items_category_id_updated_id": ["category_id", "updated", "id"],
    "ix_items_owner_id_id": ["owner_id", "id"],
}


def upgrade():
    for name, columns in INDEXES.items():
        op.create_index(name, "items", columns)
    op.drop_index("ix_items_owner_id", table_name="items")
    if not _on_sqlite():
        return
    op.execute(
        f"CREATE VIRTUAL TABLE {TABLE} USING fts5({COLUMNS}, content='items',"
        " content_rowid='id', tokenize='porter unicode61 remove_diacritics 0')"
    )
    # Index the items already there.
    op.execute(f"INSERT INTO {TABLE}({TABLE}) VALUES ('rebuild')")
    for name, body in TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {body}")


def downgrade():
    op.create_index("ix_items_owner_id", "items", ["owner_id"])
    for name in INDEXES:
        op.drop_index(name, table_name="items")
    if not _on_sqlite():
        return
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER {name}")
    op.execute(f"DROP TABLE {TABLE}")
