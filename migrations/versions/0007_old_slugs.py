"""Keep the slugs categories and items had before a rename or a move, for 301s.

old_category_slugs: a category's former slugs. old_item_slugs: the category an item
was in and its slug there. Both are read only when a URL names nothing, and follow
their rows' deletion (ON DELETE CASCADE). No unique constraint: a slug may be kept
twice, and the newest row wins.

As the models declare them, the length CHECKs of the slugs are SQLite's only.

Revision ID: 0007
Revises: 0006

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def _on_sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _slug_check(table: str) -> list:
    if not _on_sqlite():
        return []
    return [sa.CheckConstraint("length(slug) <= 100", name=op.f(f"ck_{table}_slug_length"))]


def upgrade():
    op.create_table('old_category_slugs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=100), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['category_id'], ['categories.id'], name=op.f('fk_old_category_slugs_category_id_categories'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_old_category_slugs')),
    *_slug_check('old_category_slugs'),
    )
    op.create_index(op.f('ix_old_category_slugs_slug'), 'old_category_slugs', ['slug'], unique=False)
    op.create_index(op.f('ix_old_category_slugs_category_id'), 'old_category_slugs', ['category_id'], unique=False)
    op.create_table('old_item_slugs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=100), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['category_id'], ['categories.id'], name=op.f('fk_old_item_slugs_category_id_categories'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_old_item_slugs_item_id_items'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_old_item_slugs')),
    *_slug_check('old_item_slugs'),
    )
    op.create_index('ix_old_item_slugs_category_id_slug', 'old_item_slugs', ['category_id', 'slug'], unique=False)
    op.create_index(op.f('ix_old_item_slugs_item_id'), 'old_item_slugs', ['item_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_old_item_slugs_item_id'), table_name='old_item_slugs')
    op.drop_index('ix_old_item_slugs_category_id_slug', table_name='old_item_slugs')
    op.drop_table('old_item_slugs')
    op.drop_index(op.f('ix_old_category_slugs_category_id'), table_name='old_category_slugs')
    op.drop_index(op.f('ix_old_category_slugs_slug'), table_name='old_category_slugs')
    op.drop_table('old_category_slugs')
