"""Store pictures in the database: images, their files, and each item's picture and alt text.

A picture is named by the SHA-256 of its normalised original and stored once, however
many items show it; image_files holds the original and its resized copies, as served at
/images/<sha256>-<variant>. Keeping the bytes in the database lets every web process
and host serve them with no shared disk (a dyno's disk does not last).

items.image_sha256 refers to the picture (indexed, so that finding whether any item
still uses one, before deleting it, is a lookup); items.image_alt is what the owner
wrote to describe it. Adding both to items on PostgreSQL changes no existing row (the
default is a constant); SQLite rebuilds the table, in batch mode.

As the models declare them, the length CHECKs of the new text columns are SQLite's only.

Revision ID: 0006
Revises: 0005

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

LENGTHS = {
    "images": {"sha256": 64, "format": 4},
    "image_files": {"image_sha256": 64, "variant": 16, "media_type": 16},
}
ITEM_LENGTHS = {"image_sha256": 64, "image_alt": 200}


def _on_sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _checks(table: str, lengths: dict) -> list:
    return [
        sa.CheckConstraint(
            f"length({column}) <= {length}", name=op.f(f"ck_{table}_{column}_length")
        )
        for column, length in lengths.items()
    ]


def upgrade():
    sqlite = _on_sqlite()
    op.create_table('images',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('format', sa.String(length=4), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('sha256', name=op.f('pk_images')),
    *(_checks('images', LENGTHS['images']) if sqlite else []),
    )
    op.create_table('image_files',
    sa.Column('image_sha256', sa.String(length=64), nullable=False),
    sa.Column('variant', sa.String(length=16), nullable=False),
    sa.Column('media_type', sa.String(length=16), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['image_sha256'], ['images.sha256'], name=op.f('fk_image_files_image_sha256_images'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('image_sha256', 'variant', name=op.f('pk_image_files')),
    *(_checks('image_files', LENGTHS['image_files']) if sqlite else []),
    )
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('image_sha256', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('image_alt', sa.String(length=200), server_default=sa.text("''"), nullable=False))
        batch_op.create_index(batch_op.f('ix_items_image_sha256'), ['image_sha256'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_items_image_sha256_images'), 'images', ['image_sha256'], ['sha256'])
        if sqlite:
            for column, length in ITEM_LENGTHS.items():
                batch_op.create_check_constraint(
                    op.f(f"ck_items_{column}_length"), f"length({column}) <= {length}"
                )


def downgrade():
    sqlite = _on_sqlite()
    with op.batch_alter_table('items', schema=None) as batch_op:
        if sqlite:
            for column in ITEM_LENGTHS:
                batch_op.drop_constraint(op.f(f"ck_items_{column}_length"), type_="check")
        batch_op.drop_constraint(batch_op.f('fk_items_image_sha256_images'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_items_image_sha256'))
        batch_op.drop_column('image_alt')
        batch_op.drop_column('image_sha256')

    op.drop_table('image_files')
    op.drop_table('images')
