"""Remember API creates made with an Idempotency-Key; make SQLite enforce text lengths.

A retried POST /api/v1/items with the same key (same user) gets the first answer
again instead of a second item: idempotency_keys keeps the answer, one row per
(user, key), written in the item's transaction.

PostgreSQL enforces VARCHAR lengths; SQLite ignores them, so there each
length-limited column gets a CHECK (the models declare the same, for SQLite
only). SQLite cannot add a constraint to a table, so batch mode rebuilds each
table; rows already too long stop the upgrade with a message, never truncated.

Revision ID: 0004
Revises: 0003

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

# The length-limited columns of the tables before this revision, as in the models.
LENGTHS = {
    "users": {"issuer": 255, "subject": 255, "email": 320, "name": 200, "picture": 2000},
    "categories": {"name": 80, "slug": 100, "description": 500},
    "items": {"name": 80, "slug": 100, "description": 2000},
    "api_tokens": {"label": 100, "token_hash": 64},
    "user_sessions": {"id": 64},
}
KEY_LENGTHS = {"client_key": 255, "fingerprint": 64}


def _on_sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _check(table: str, column: str, length: int) -> sa.CheckConstraint:
    return sa.CheckConstraint(
        f"length({column}) <= {length}", name=op.f(f"ck_{table}_{column}_length")
    )


def _refuse_rows_too_long() -> None:
    connection = op.get_bind()
    for table, columns in LENGTHS.items():
        for column, length in columns.items():
            found = connection.scalar(
                sa.text(f"SELECT count(*) FROM {table} WHERE length({column}) > {length}")
            )
            if found:
                raise RuntimeError(
                    f"{found} row(s) of {table} have a {column} longer than {length} "
                    "characters: shorten them, then upgrade again"
                )


def upgrade():
    sqlite = _on_sqlite()
    if sqlite:
        # First, before anything changes: SQLite commits each DDL statement as it goes.
        _refuse_rows_too_long()
    op.create_table('idempotency_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('client_key', sa.String(length=255), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('status', sa.Integer(), nullable=True),
    sa.Column('headers', sa.Text(), nullable=True),
    sa.Column('body', sa.Text(), nullable=True),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_idempotency_keys_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotency_keys')),
    sa.UniqueConstraint('user_id', 'client_key', name=op.f('uq_idempotency_keys_user_id_client_key')),
    *([_check('idempotency_keys', c, n) for c, n in KEY_LENGTHS.items()] if sqlite else []),
    )
    if not sqlite:
        return
    for table, columns in LENGTHS.items():
        with op.batch_alter_table(table, recreate="always") as batch_op:
            for column, length in columns.items():
                batch_op.create_check_constraint(
                    op.f(f"ck_{table}_{column}_length"), f"length({column}) <= {length}"
                )


def downgrade():
    if _on_sqlite():
        for table, columns in LENGTHS.items():
            with op.batch_alter_table(table, recreate="always") as batch_op:
                for column in columns:
                    batch_op.drop_constraint(op.f(f"ck_{table}_{column}_length"), type_="check")
    op.drop_table('idempotency_keys')
