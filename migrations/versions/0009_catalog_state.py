"""The catalog's change marker: one row that every change to what pages show moves.

Pages and API reads are validated against it (catalog.web.caching): a browser or a
CDN that sends an ETag back gets 304 for the cost of reading this row. The row starts
with a random marker; the first change that commits gives it another.

Revision ID: 0009
Revises: 0008

"""
import secrets

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    # As the models declare it, the length CHECK is SQLite's only.
    checks = []
    if op.get_bind().dialect.name == "sqlite":
        checks.append(
            sa.CheckConstraint("length(marker) <= 32", name=op.f("ck_catalog_state_marker_length"))
        )
    state = op.create_table(
        "catalog_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("marker", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_state")),
        *checks,
    )
    op.bulk_insert(state, [{"id": 1, "marker": secrets.token_hex(16)}])


def downgrade():
    op.drop_table("catalog_state")
