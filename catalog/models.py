"""Typed SQLAlchemy models: the annotations are the schema."""

import secrets
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    event,
    func,
    inspect,
    literal_column,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Mapper,
    ORMExecuteState,
    Session,
    SessionTransaction,
    mapped_column,
    relationship,
    scoped_session,
)
from sqlalchemy.sql import column as sql_column
from sqlalchemy.sql import table as sql_table

# Limits shared by the schema, the forms and the API.
NAME_MAX = 80
SLUG_MAX = 100
DESCRIPTION_MAX = 2000
CATEGORY_DESCRIPTION_MAX = 500
TOKEN_LABEL_MAX = 100
IDEMPOTENCY_KEY_MAX = 255
IMAGE_ALT_MAX = 200
# The largest id a primary key holds: PostgreSQL's integer. A larger one names no row, and
# comparing it with a column would be an error, so forms, cursors and URLs stop here.
ID_MAX = 2**31 - 1


def utcnow() -> datetime:
    """Return the current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as UTC and always read back timezone-aware.

    PostgreSQL keeps the zone (``timestamptz``); SQLite keeps none, so values are
    normalised to UTC on the way in and tagged as UTC on the way out.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: use a timezone-aware value")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Schema-wide decisions, made once."""

    # Named constraints let Alembic alter them, in SQLite's batch mode too.
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )
    type_annotation_map = {datetime: UTCDateTime()}


class User(Base):
    """Someone who signed in, known by their identity provider's issuer and subject."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("issuer", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(255))
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(200))
    picture: Mapped[str | None] = mapped_column(String(2000))
    created: Mapped[datetime] = mapped_column(default=utcnow)

    items: Mapped[list["Item"]] = relationship(back_populates="owner")
    sessions: Mapped[list["UserSession"]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )
    api_tokens: Mapped[list["ApiToken"]] = relationship(
        back_populates="owner", cascade="all, delete-orphan", passive_deletes=True
    )

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"


class Category(Base):
    """A named group of items."""

    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX), unique=True)
    slug: Mapped[str] = mapped_column(String(SLUG_MAX), unique=True)
    description: Mapped[str] = mapped_column(
        String(CATEGORY_DESCRIPTION_MAX), default="", server_default=text("''")
    )
    created: Mapped[datetime] = mapped_column(default=utcnow)
    # Kept by the item events below so that listing counts never scans items.
    item_count: Mapped[int] = mapped_column(default=0, server_default=text("0"))

    items: Mapped[list["Item"]] = relationship(back_populates="category")

    def __repr__(self) -> str:
        return f"<Category {self.slug}>"


class Item(Base):
    """A thing in the catalog, owned by the user who added it."""

    __tablename__ = "items"
    __table_args__ = (
        # Unique slug per category; also the index behind the category page's keyset.
        UniqueConstraint("category_id", "slug"),
        # The home page's and the feed's "newest first".
        Index("ix_items_created_id", "created", "id"),
        # A category's page sorted newest first or by the latest change, by keyset.
        Index("ix_items_category_id_created_id", "category_id", "created", "id"),
        Index("ix_items_category_id_updated_id", "category_id", "updated", "id"),
        # A user's items, newest first, by keyset; and whether a user has any.
        Index("ix_items_owner_id_id", "owner_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    slug: Mapped[str] = mapped_column(String(SLUG_MAX))
    description: Mapped[str] = mapped_column(
        String(DESCRIPTION_MAX), default="", server_default=text("''")
    )
    created: Mapped[datetime] = mapped_column(default=utcnow)
    updated: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(default=1, server_default=text("1"))
    # The item's picture, if any (catalog.images.store keeps it and collects unused ones),
    # and what its owner wrote to describe it; pages fall back to the name.
    image_sha256: Mapped[str | None] = mapped_column(ForeignKey("images.sha256"), index=True)
    image_alt: Mapped[str] = mapped_column(
        String(IMAGE_ALT_MAX), default="", server_default=text("''")
    )

    category: Mapped[Category] = relationship(back_populates="items")
    owner: Mapped[User] = relationship(back_populates="items")
    image: Mapped["Image | None"] = relationship()

    # The ORM adds "WHERE version = <read version>" to every UPDATE and DELETE
    # and raises StaleDataError when the row moved on: a stale edit is refused.
    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<Item {self.category_id}/{self.slug}>"


class OldCategorySlug(Base):
    """A slug a category had before it was renamed: its old URLs answer 301 with the new.

    Only read when a URL names no category (catalog.lookups), so the pages that find
    theirs pay nothing for it. The same old slug may be kept twice (a new category took
    it, then was renamed too): the newest row wins.
    """

    __tablename__ = "old_category_slugs"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(SLUG_MAX), index=True)
    category_id: Mapped[int] = mapped_column(
        ForeignKey("categories.id", ondelete="CASCADE"), index=True
    )
    created: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<OldCategorySlug {self.slug} of category {self.category_id}>"


class OldItemSlug(Base):
    """Where an item was before it was renamed or moved: the category it was in and its
    slug there. Its old URLs answer 301 with the new; as above, the newest row wins."""

    __tablename__ = "old_item_slugs"
    __table_args__ = (Index("ix_old_item_slugs_category_id_slug", "category_id", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(SLUG_MAX))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    created: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<OldItemSlug {self.category_id}/{self.slug} of item {self.item_id}>"


# Full-text search on PostgreSQL: items.search_vector is a stored generated column, the
# English tsvector of the name weighted A and of the description weighted B (words of the
# name weigh more when ranking), with the GIN index ix_items_search_vector.
# PostgreSQL computes it on every insert and update, so no write names it. It is not part
# of the model: SQLite has no such column, so the table's columns, which the ORM,
# `flask export` and `flask import` use, leave it out on both databases.
# Queries reach it by name, on PostgreSQL only. Migration 0005 creates both.
ITEM_SEARCH_CONFIG = text("'english'::regconfig")
ITEM_SEARCH_COLUMN = "search_vector"
ITEM_SEARCH_INDEX = "ix_items_search_vector"
ITEM_SEARCH_VECTOR = literal_column(f"{Item.__tablename__}.{ITEM_SEARCH_COLUMN}", TSVECTOR)
_POSTGRESQL_ONLY = {
    ("column", Item.__tablename__, ITEM_SEARCH_COLUMN),
    ("index", Item.__tablename__, ITEM_SEARCH_INDEX),
}
# Full-text search on SQLite: items_search, an FTS5 index of the items' names and
# descriptions (rowid = items.id), kept in step by triggers; migration 0008 creates them.
# FTS5 keeps it in tables of its own (items_search_data, _idx, _docsize, _config). It is
# no model either: tests empty the items and the triggers empty it, and queries reach it
# by name (``ITEM_SEARCH_TABLE``), on SQLite only.
ITEM_SEARCH_TABLE_NAME = "items_search"
ITEM_SEARCH_TABLE = sql_table(
    ITEM_SEARCH_TABLE_NAME,
    sql_column("rowid", Integer),
    sql_column("name"),
    sql_column("description"),
)


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Tell Alembic's autogenerate not to read SQLite's search index and the tables under it."""
    return not (
        type_ == "table"
        and name is not None
        and (name == ITEM_SEARCH_TABLE_NAME or name.startswith(f"{ITEM_SEARCH_TABLE_NAME}_"))
    )


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Tell Alembic's autogenerate to leave out the database's search column and index.

    Only when found in the database and absent from the models: should a model ever
    declare them, they are compared like anything else.
    """
    table_ = getattr(obj, "table", None)
    return not (
        reflected
        and compare_to is None
        and table_ is not None
        and (type_, table_.name, name) in _POSTGRESQL_ONLY
    )


# Each category's item_count follows its items: the events below keep it as the ORM adds,
# moves and deletes items, and recount_items sets it afresh after rows went in without the
# ORM (flask seed --items, flask import).


def _count(connection: Connection, category_id: int, delta: int) -> None:
    categories = cast(Table, Category.__table__)
    connection.execute(
        update(categories)
        .where(categories.c.id == category_id)
        .values(item_count=categories.c.item_count + delta)
    )


@event.listens_for(Item, "after_insert")
def _item_added(mapper: Mapper[Item], connection: Connection, item: Item) -> None:
    _count(connection, item.category_id, +1)


@event.listens_for(Item, "after_delete")
def _item_removed(mapper: Mapper[Item], connection: Connection, item: Item) -> None:
    _count(connection, item.category_id, -1)


@event.listens_for(Item, "after_update")
def _item_moved(mapper: Mapper[Item], connection: Connection, item: Item) -> None:
    attrs = inspect(item).attrs
    moved_from = attrs.category_id.history.deleted or [
        c.id for c in attrs.category.history.deleted if c is not None
    ]
    if moved_from and moved_from[0] != item.category_id:
        _count(connection, moved_from[0], -1)
        _count(connection, item.category_id, +1)


class Image(Base):
    """A picture, stored once however many items show it, named by the SHA-256 of its
    normalised original; ``files`` holds that original and its resized copies.

    Every web process and host reads the same rows, so no disk is shared. Width and
    height are the original's; the copies' follow from them (catalog.images.processing).
    """

    __tablename__ = "images"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    width: Mapped[int]
    height: Mapped[int]
    # The original's file extension: jpg, png or webp.
    format: Mapped[str] = mapped_column(String(4))
    created: Mapped[datetime] = mapped_column(default=utcnow)

    files: Mapped[list["ImageFile"]] = relationship(
        back_populates="image", cascade="all, delete-orphan", passive_deletes=True
    )

    def __repr__(self) -> str:
        return f"<Image {self.sha256[:12]} {self.width}x{self.height}>"


class ImageFile(Base):
    """One file of a picture as it is served: ``/images/<sha256>-<variant>``."""

    __tablename__ = "image_files"

    image_sha256: Mapped[str] = mapped_column(
        ForeignKey("images.sha256", ondelete="CASCADE"), primary_key=True
    )
    # Its size and format, as in its URL: "200.webp", "1200.jpg", "full.png".
    variant: Mapped[str] = mapped_column(String(16), primary_key=True)
    media_type: Mapped[str] = mapped_column(String(16))
    data: Mapped[bytes] = mapped_column(LargeBinary)

    image: Mapped[Image] = relationship(back_populates="files")

    def __repr__(self) -> str:
        return f"<ImageFile {self.image_sha256[:12]}-{self.variant}>"


def recount_items(session: Session | scoped_session[Any]) -> None:
    """Recompute every category's ``item_count`` from the items table, in ``session``."""
    counted = select(func.count(Item.id)).where(Item.category_id == Category.id).scalar_subquery()
    session.execute(update(Category).values(item_count=counted))


class ApiToken(Base):
    """A personal API token; only the SHA-256 of its secret is kept, never the secret."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(TOKEN_LABEL_MAX))
    # Hex SHA-256 of the secret: a lookup by equality on a unique index.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created: Mapped[datetime] = mapped_column(default=utcnow)
    last_used: Mapped[datetime | None]

    owner: Mapped[User] = relationship(back_populates="api_tokens")

    def __repr__(self) -> str:
        return f"<ApiToken {self.id} of user {self.owner_id}>"


class UserSession(Base):
    """A browser signed in as a user; the cookie names the row, and deleting it signs out.

    The cookie is signed, so its id cannot be forged; the row makes signing out
    final on the server: a saved copy of the cookie names a row that is gone.
    """

    __tablename__ = "user_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(back_populates="sessions")

    def __repr__(self) -> str:
        return f"<UserSession of user {self.user_id}>"


class IdempotencyKey(Base):
    """An API create sent with an ``Idempotency-Key``, and the answer it got.

    A retry with the same key (same user) gets this answer again instead of making a
    second item. The row goes in before the item, in the same transaction, and the
    unique (user, key) pair makes a concurrent retry wait for it: both rows exist, or
    neither does.
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "client_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # The Idempotency-Key header as the client sent it.
    client_key: Mapped[str] = mapped_column(String(IDEMPOTENCY_KEY_MAX))
    # Hex SHA-256 of the request as parsed: the same key sent with another request is refused.
    fingerprint: Mapped[str] = mapped_column(String(64))
    # The answer; empty only until the request that made the row commits it.
    status: Mapped[int | None]
    headers: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str | None] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<IdempotencyKey {self.client_key!r} of user {self.user_id}>"


class CatalogState(Base):
    """The catalog's change marker: one row, given a new random value by every commit
    that changes anything a page or the API shows (catalog.web.caching reads it).

    Pages are validated against it before they are made, so a 304 costs this one row.
    It is random rather than a count, so that a catalog emptied and loaded again never
    gives an old ETag back for other content.
    """

    __tablename__ = "catalog_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    marker: Mapped[str] = mapped_column(String(32))

    def __repr__(self) -> str:
        return f"<CatalogState {self.marker}>"


# What the marker follows: every table whose rows a page, a feed or the API shows. Users
# are among them for their names; their sessions, tokens and idempotency keys are not.
MARKED_MODELS = (Item, Category, User, Image)
MARKED_TABLES = frozenset(cast(Table, model.__table__).name for model in MARKED_MODELS)
_CHANGED = "catalog_changed"
MARKER_ID = 1


def _marks(session: Session, instance: object, dirty: bool) -> bool:
    if not isinstance(instance, MARKED_MODELS):
        return False
    # Assigning a value it already had (a user signing in again) changes nothing.
    return not dirty or session.is_modified(instance)


@event.listens_for(Session, "before_flush")
def _note_flushed_changes(session: Session, context: object, instances: object) -> None:
    if session.info.get(_CHANGED):
        return
    if (
        any(_marks(session, obj, False) for obj in session.new)
        or any(_marks(session, obj, False) for obj in session.deleted)
        or any(_marks(session, obj, True) for obj in session.dirty)
    ):
        session.info[_CHANGED] = True


@event.listens_for(Session, "do_orm_execute")
def _note_statement_changes(state: ORMExecuteState) -> None:
    # Rows written without the ORM's unit of work: flask seed --items, flask import,
    # recount_items. Their statements name their table.
    if state.is_insert or state.is_update or state.is_delete:
        table = getattr(state.statement, "table", None)
        if getattr(table, "name", None) in MARKED_TABLES:
            state.session.info[_CHANGED] = True


@event.listens_for(Session, "before_commit")
def _move_the_marker(session: Session) -> None:
    """Give the marker a new value in the committing transaction, if it changed the catalog.

    Last of all its statements: the marker's row is locked from this write to the commit
    only, and as the last lock a transaction takes it cannot be part of a deadlock.
    """
    if session.in_nested_transaction():
        return
    session.flush()
    if not session.info.pop(_CHANGED, False):
        return
    marker = secrets.token_hex(16)
    table = cast(Table, CatalogState.__table__)
    dialect = session.get_bind().dialect.name
    statement = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    session.execute(
        statement.values(id=MARKER_ID, marker=marker).on_conflict_do_update(
            index_elements=["id"], set_={"marker": marker}
        )
    )


@event.listens_for(Session, "after_transaction_end")
def _forget_changes(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # committed or rolled back as a whole
        session.info.pop(_CHANGED, None)


def _sqlite_length_checks() -> None:
    """Give each length-limited text column a CHECK, on SQLite only.

    PostgreSQL enforces VARCHAR lengths itself; SQLite ignores them, so there a CHECK
    refuses what the forms and the API would, should anything get past them.
    """
    for table in Base.metadata.tables.values():
        for column in table.columns:
            if isinstance(column.type, String) and column.type.length:
                check = CheckConstraint(
                    f"length({column.name}) <= {column.type.length}",
                    name=f"{column.name}_length",
                )
                table.append_constraint(check.ddl_if(dialect="sqlite"))


_sqlite_length_checks()
