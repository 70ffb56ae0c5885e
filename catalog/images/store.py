"""Pictures in the database: stored once by hash, attached to items, collected when unused.

Everything here runs in the caller's transaction, so a picture and the item change
that shows it commit together, or neither does. A picture is a row of ``images``
named by the SHA-256 of its normalised original, with its files in ``image_files``;
items refer to it by that name (a foreign key, so no item can point at bytes that are
gone). Storing a picture that is already there stores nothing; when an item stops
showing a picture (replaced, removed, or the item deleted), the picture is deleted in
the same flush if no other item shows it, its files with it (ON DELETE CASCADE).

Two transactions may meet over one picture on PostgreSQL: one attaching it to an item
while another removes it from the last item that showed it. ``save`` holds a
key-share lock on the picture's row until its transaction ends (or inserts the row
again if it was deleted meanwhile), and ``collect`` first takes the row for update,
waiting for any such lock, and only then asks, in a statement of its own (a fresh
snapshot), whether an item still uses it. Locks are taken item first, picture second,
everywhere (``attach`` locks the item), so the two never wait on each other in a
circle. SQLite lets one writer in at a time, which settles the same question.
"""

from typing import cast

from sqlalchemy import Connection, Table, delete, event, exists, insert, inspect, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapper
from sqlalchemy.sql.dml import ReturningInsert

from catalog.extensions import db
from catalog.images.processing import Picture
from catalog.models import Image, ImageFile, Item

# How often to insert a picture that a concurrent removal keeps deleting under us.
SAVE_ATTEMPTS = 3


def _insert_missing(dialect: str, picture: Picture) -> ReturningInsert[tuple[str]]:
    """Return an INSERT of the picture's row that does nothing when it is there already."""
    values = {
        "sha256": picture.sha256,
        "width": picture.width,
        "height": picture.height,
        "format": picture.format,
    }
    statement = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(Image).values(
        **values
    )
    return statement.on_conflict_do_nothing(index_elements=["sha256"]).returning(Image.sha256)


def save(picture: Picture) -> str:
    """Store ``picture`` unless it is stored already; return its SHA-256.

    The row stays locked against ``collect`` (key share) until the transaction ends.
    """
    dialect = db.session.get_bind().dialect.name
    for _ in range(SAVE_ATTEMPTS):
        if db.session.scalar(_insert_missing(dialect, picture)) is not None:
            db.session.execute(
                insert(ImageFile),
                [
                    {
                        "image_sha256": picture.sha256,
                        "variant": file.variant,
                        "media_type": file.media_type,
                        "data": file.data,
                    }
                    for file in picture.files
                ],
            )
            return picture.sha256
        held = db.session.scalar(
            select(Image.sha256)
            .where(Image.sha256 == picture.sha256)
            .with_for_update(key_share=True)
        )
        if held is not None:
            return picture.sha256
        # Deleted between the two statements by a transaction that has committed since.
    raise RuntimeError(f"picture {picture.sha256} keeps being deleted while it is stored")


def attach(item: Item, picture: Picture | None) -> None:
    """Show ``picture`` on ``item`` (None: no picture), storing it unless stored already.

    The change is the item's: its version goes up when it is flushed, and the picture
    it showed before is collected then if no item shows it any more.
    """
    if item.id is not None and db.session.get_bind().dialect.name == "postgresql":
        # The item's row before the picture's, as ``collect`` takes them.
        db.session.execute(select(Item.id).where(Item.id == item.id).with_for_update())
    sha256 = save(picture) if picture is not None else None
    if item.image_sha256 != sha256:
        item.image_sha256 = sha256
        if inspect(item).persistent:
            # Loaded again from the new value when next asked for, not the old picture.
            db.session.expire(item, ["image"])


def collect(connection: Connection, sha256: str) -> None:
    """Delete the picture ``sha256`` and its files if no item shows it."""
    images = cast(Table, Image.__table__)
    if connection.dialect.name == "postgresql":
        # Wait for transactions attaching it to end, so that the check below sees them.
        connection.execute(
            select(images.c.sha256).where(images.c.sha256 == sha256).with_for_update()
        )
    connection.execute(
        delete(images).where(
            images.c.sha256 == sha256,
            ~exists().where(Item.__table__.c.image_sha256 == sha256),
        )
    )


@event.listens_for(Item, "after_update")
def _picture_changed(mapper: Mapper[Item], connection: Connection, item: Item) -> None:
    for before in inspect(item).attrs.image_sha256.history.deleted:
        if before is not None and before != item.image_sha256:
            collect(connection, before)


@event.listens_for(Item, "before_delete")
def _item_deleting(mapper: Mapper[Item], connection: Connection, item: Item) -> None:
    # Load it, should it have expired, while the row is still there to load it from.
    inspect(item).attrs.image_sha256.load_history()


@event.listens_for(Item, "after_delete")
def _item_deleted(mapper: Mapper[Item], connection: Connection, item: Item) -> None:
    if item.image_sha256 is not None:
        collect(connection, item.image_sha256)
