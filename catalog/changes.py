"""Who may change what, and the changes themselves: the rules the forms and the API share.

Helpers here change objects and flush, so that the database's constraints speak
while the caller can still answer; the caller (a view) commits once. When a
constraint refuses a change the session is rolled back and a ``Refused``
subclass says why in words fit for the person who asked.
"""

from flask import current_app
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from catalog.extensions import db
from catalog.images import store
from catalog.images.processing import Picture
from catalog.models import Category, Item, User
from catalog.slugs import slugify


class Refused(Exception):
    """A change the rules do not allow; ``str()`` is the message to show."""


class DuplicateName(Refused):
    """Another row already has this name (or one with the same slug) where names are unique."""


class StaleVersion(Refused):
    """The row changed since the editor read it; saving would lose that change."""


class CategoryNotEmpty(Refused):
    """A category that still holds items cannot be deleted."""


def is_admin(user: User | None) -> bool:
    """Tell whether ``user`` is listed in ``CATALOG_ADMINS``."""
    return user is not None and user.email.lower() in current_app.config["CATALOG_ADMINS"]


def can_change(user: User | None, item: Item) -> bool:
    """Tell whether ``user`` may edit or delete ``item``: its owner or an admin."""
    return user is not None and (item.owner_id == user.id or is_admin(user))


def _flush(duplicate_message: str) -> None:
    """Flush pending changes; turn a unique violation or a stale row into ``Refused``."""
    try:
        db.session.flush()
    except IntegrityError as exc:
        db.session.rollback()
        if is_unique_violation(exc):
            raise DuplicateName(duplicate_message) from exc
        raise
    except StaleDataError as exc:
        db.session.rollback()
        raise StaleVersion("Someone else changed this while you were editing it.") from exc


def is_unique_violation(exc: IntegrityError) -> bool:
    """Tell whether ``exc`` is a unique constraint's refusal, on PostgreSQL or SQLite."""
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if sqlstate is not None:  # PostgreSQL
        return sqlstate == "23505"
    return "UNIQUE constraint failed" in str(exc.orig)  # SQLite


def add_item(
    owner: User,
    category: Category,
    name: str,
    description: str = "",
    *,
    picture: Picture | None = None,
    image_alt: str = "",
) -> Item:
    """Add an item named ``name`` to ``category``, owned by ``owner``, with ``picture``."""
    item = Item(
        owner=owner,
        category=category,
        name=name.strip(),
        slug=slugify(name),
        description=description,
        image_alt=image_alt,
    )
    if picture is not None:
        # Stored first; the item goes in once, with it, when flushed below.
        with db.session.no_autoflush:
            store.attach(item, picture)
    db.session.add(item)
    _flush(f"{category.name} already has an item called “{item.name}”.")
    return item


def change_item(item: Item, version: int, **changes) -> Item:
    """Apply ``changes`` (name, description, category, image_alt, and ``picture``: a
    processed picture, or None to remove it) to ``item`` read at ``version``.

    Raises ``StaleVersion`` when the item moved past ``version``, here or in
    a concurrent transaction, so that no one's edit is silently overwritten.
    """
    if item.version != version:
        raise StaleVersion("Someone else changed this while you were editing it.")
    if "name" in changes:
        item.name = changes.pop("name").strip()
        item.slug = slugify(item.name)
    for field in ("description", "category", "image_alt"):
        if field in changes:
            setattr(item, field, changes.pop(field))
    if "picture" in changes:
        # Stored without flushing the item: its changes go out in one UPDATE, below.
        with db.session.no_autoflush:
            store.attach(item, changes.pop("picture"))
    if changes:
        raise TypeError(f"unknown item fields: {', '.join(changes)}")
    with db.session.no_autoflush:  # a stale row must fail in _flush, not on this read
        message = f"{item.category.name} already has an item called “{item.name}”."
    _flush(message)
    return item


def remove_item(item: Item, version: int | None = None) -> None:
    """Delete ``item``; with ``version``, only if nobody changed it since."""
    if version is not None and item.version != version:
        raise StaleVersion("Someone else changed this item since you last saw it.")
    db.session.delete(item)
    _flush("")


def add_category(name: str, description: str = "") -> Category:
    """Add a category named ``name``."""
    category = Category(name=name.strip(), slug=slugify(name), description=description)
    db.session.add(category)
    _flush(f"There is already a category called “{category.name}”.")
    return category


def change_category(category: Category, name: str, description: str) -> Category:
    """Rename ``category`` and change its description."""
    category.name = name.strip()
    category.slug = slugify(category.name)
    category.description = description
    _flush(f"There is already a category called “{category.name}”.")
    return category


def remove_category(category: Category) -> None:
    """Delete ``category`` if it holds no items."""
    if category.item_count:
        raise CategoryNotEmpty(
            f"{category.name} still holds {category.item_count} item(s); move or delete them first."
        )
    db.session.delete(category)
    try:
        db.session.flush()
    except IntegrityError as exc:  # an item arrived after the count was read
        db.session.rollback()
        raise CategoryNotEmpty(
            f"{category.name} is not empty; move or delete its items first."
        ) from exc
