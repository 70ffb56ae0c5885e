"""Add personal API tokens, and a full-text search index on PostgreSQL.

Tokens are stored as the SHA-256 of their secret, unique so that a request's
token is found by one index lookup. The search index is a GIN index over the
English tsvector of an item's name (weighted A) and description (B); the expression must stay
identical to the one catalog/search/statements.py queries with, or the planner ignores
the index. SQLite searches with LIKE and gets no index.

Revision ID: 0002
Revises: 0001

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

SEARCH_INDEX = "ix_items_search"
SEARCH_EXPRESSION = (
    "setweight(to_tsvector('english'::regconfig, name), 'A')"
    " || setweight(to_tsvector('english'::regconfig, description), 'B')"
)


def upgrade():
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=100), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_used', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_api_tokens_owner_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash'))
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tokens_owner_id'), ['owner_id'], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE INDEX {SEARCH_INDEX} ON items USING gin (({SEARCH_EXPRESSION}))")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP INDEX {SEARCH_INDEX}")

    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tokens_owner_id'))

    op.drop_table('api_tokens')
