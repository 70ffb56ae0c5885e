"""Store each item's search vector in a generated column on PostgreSQL, indexed with GIN.

Until now the GIN index was over an expression, so ranking recomputed to_tsvector
for every matching row, and searches that walk the items newest first recomputed it
for every row walked. items.search_vector now holds the same weighted vector (name
A, description B), kept by PostgreSQL on every insert and update; the GIN index is
over that column, and the expression index goes.

PostgreSQL only: SQLite searches with LIKE and gets neither. The models do not map
the column (catalog/models.py says why), so writes, `flask export` and `flask import`
never name it.

Adding a stored generated column rewrites the items table under an exclusive lock:
reads and writes of items wait until the upgrade commits. At a million items the
upgrade takes a few minutes (most of it the rewrite and the new index); run it when a
pause is acceptable. The expression index is dropped first so the rewrite does not
rebuild it only to drop it afterwards.

Revision ID: 0005
Revises: 0004

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

VECTOR = (
    "setweight(to_tsvector('english'::regconfig, name), 'A')"
    " || setweight(to_tsvector('english'::regconfig, description), 'B')"
)
# As revision 0002 made it.
EXPRESSION_INDEX = "ix_items_search"


def _on_postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade():
    if not _on_postgresql():
        return
    op.drop_index(EXPRESSION_INDEX, table_name="items")
    op.add_column(
        "items",
        sa.Column("search_vector", postgresql.TSVECTOR(), sa.Computed(VECTOR, persisted=True)),
    )
    op.create_index(
        "ix_items_search_vector", "items", ["search_vector"], postgresql_using="gin"
    )
    # The planner's estimates for searches come from the column's statistics.
    op.execute("ANALYZE items")


def downgrade():
    if not _on_postgresql():
        return
    op.drop_index("ix_items_search_vector", table_name="items")
    op.drop_column("items", "search_vector")
    op.execute(f"CREATE INDEX {EXPRESSION_INDEX} ON items USING gin (({VECTOR}))")
