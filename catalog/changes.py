"""Who may change what, and the changes themselves: the rules the forms and the API share.

Helpers here change objects and flush, so that the database's constraints speak
while the caller can still answer; when one refuses a change, a ``Refused`` subclass
says why in words fit for the person who asked. Nothing here commits or rolls back
the transaction: the view owns it, and commits once, or not at all. Each change is
made in a savepoint, so that a refused one is undone alone and the view can go on
(show the form again, read the newer version). A view that answers every refusal at
once and stops, as the API does, passes ``savepoint=False``: it saves the two
statements, and its request's transaction is dropped at the end.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any, NamedTuple

from flask import current_app
from sqlalchemy import null, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from catalog.extensions import db
from catalog.images import store
from catalog.images.processing import Picture
from catalog.models import Category, Item, OldCategorySlug, OldItemSlug, User
from catalog.slugs import slugify


class Refused(Exception):
    """A change the rules do not allow; ``str()`` is the message to show."""


class DuplicateName(Refused):
    """Another row already has this name (or one with the same slug) where names are unique.

    It says where the name was wanted (``category_id`` for an item, None for a
    category), the ``name`` asked for and its ``slug``, so that ``taken_by`` can find
    the row that holds them.
    """

    def __init__(self, message: str, *, category_id: int | None, name: str, slug: str) -> None:
        super().__init__(message)
        self.category_id = category_id
        self.name = name
        self.slug = slug


class Taken(NamedTuple):
    """The item (``item_id`` set) or category that holds a name another one asked for."""

    name: str
    category_name: str
    category_slug: str
    item_slug: str | None
    item_id: int | None


class StaleVersion(Refused):
    """The row changed since the editor read it; saving would lose that change."""


class CategoryNotEmpty(Refused):
    """A category that still holds items cannot be deleted."""


def is_admin(user: User | None) -> bool:
    """Tell whether ``user`` is listed in ``CATALOG_ADMINS``."""
    return user is not None and user.email.lower() in current_app.config["CATALOG_ADMINS"]


def can_change(user: User | None, item: Item) -> bool:
    """Tell whether ``user`` may edit or delete ``item``: its owner or an admin."""
    return may_change(user, item.owner_id)


def may_change(user: User | None, owner_id: int) -> bool:
    """Tell whether ``user`` may edit or delete an item of ``owner_id``'s: they or an admin."""
    return user is not None and (owner_id == user.id or is_admin(user))


@contextmanager
def _change(
    duplicate: Callable[[], DuplicateName] | None, *, savepoint: bool = True
) -> Iterator[None]:
    """Make the block's changes, in a savepoint unless told not to, and flush them.

    A unique violation or a stale row becomes ``duplicate()`` (when given) or
    ``StaleVersion``, with the savepoint rolled back; without one the session is left as
    the failed flush left it, for the request's end to drop (or the view to roll back).
    """
    try:
        with db.session.begin_nested() if savepoint else nullcontext():
            yield
            db.session.flush()
    except IntegrityError as exc:
        if duplicate is not None and is_unique_violation(exc):
            raise duplicate() from exc
        raise
    except StaleDataError as exc:
        raise StaleVersion("Someone else changed this while you were editing it.") from exc


def is_unique_violation(exc: IntegrityError) -> bool:
    """Tell whether ``exc`` is a unique constraint's refusal, on PostgreSQL or SQLite."""
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if sqlstate is not None:  # PostgreSQL
        return bool(sqlstate == "23505")
    return "UNIQUE constraint failed" in str(exc.orig)  # SQLite


def _item_taken(category: Category, name: str) -> Callable[[], DuplicateName]:
    # Read now: after a failed flush without a savepoint, the category cannot be read.
    category_id, category_name = category.id, category.name

    def refusal() -> DuplicateName:
        return DuplicateName(
            f"{category_name} already has an item called “{name}”.",
            category_id=category_id,
            name=name,
            slug=slugify(name),
        )

    return refusal


def _category_taken(name: str) -> Callable[[], DuplicateName]:
    def refusal() -> DuplicateName:
        return DuplicateName(
            f"There is already a category called “{name}”.",
            category_id=None,
            name=name,
            slug=slugify(name),
        )

    return refusal


def taken_by(refused: DuplicateName) -> Taken | None:
    """Return what holds the name ``refused`` was refused, or None if it is gone since.

    Call it in a transaction that can still run statements: after the savepoint of a
    refused change, or after the view rolled back one made without a savepoint.
    """
    row: Any
    if refused.category_id is not None:
        row = db.session.execute(
            select(Item.name, Category.name, Category.slug, Item.slug, Item.id)
            .join(Item.category)
            .where(Item.category_id == refused.category_id, Item.slug == refused.slug)
        ).first()
    else:
        row = db.session.execute(
            select(Category.name, Category.name, Category.slug, null(), null()).where(
                or_(Category.slug == refused.slug, Category.name == refused.name)
            )
        ).first()
    return None if row is None else Taken(*row)


def taken_message(refused: DuplicateName, taken: Taken | None) -> tuple[str, str, str]:
    """Say that ``taken`` holds the name ``refused`` asked for, in three parts: the words
    before the quoted name of what holds it, that name, and the words after it.

    The caller shows the middle part as it shows such a thing (a link on a page, the
    name and its URL in the API). Without ``taken``, the name asked for is quoted.
    """
    if taken is None:
        before, _, after = str(refused).partition(f"“{refused.name}”")
        return before, f"“{refused.name}”", after
    before = (
        f"{taken.category_name} already has an item called "
        if taken.item_id is not None
        else "There is already a category called "
    )
    if taken.name == refused.name:
        return before, f"“{taken.name}”", "."
    return (
        before,
        f"“{taken.name}”",
        f", and “{refused.name}” would have the same web address. Choose another name.",
    )


def same_as_saved(
    item: Item,
    *,
    name: str,
    description: str,
    category: Category,
    image_alt: str,
    **picture: Picture | None,
) -> bool:
    """Tell whether saving these fields to ``item`` would change nothing.

    A form sent again (back and resubmit, or a retry after a timeout) carries what its
    first sending saved: that is no conflict and no duplicate, only the same save. With
    ``picture`` (a processed picture, or None for none) the picture is compared too.
    """
    if "picture" in picture:
        sent = picture["picture"]
        if (sent.sha256 if sent is not None else None) != item.image_sha256:
            return False
    saved = (item.name, item.description, item.category_id, item.image_alt)
    return saved == (name.strip(), description, category.id, image_alt)


def add_item(
    owner: User,
    category: Category,
    name: str,
    description: str = "",
    *,
    picture: Picture | None = None,
    image_alt: str = "",
    savepoint: bool = True,
) -> Item:
    """Add an item named ``name`` to ``category``, owned by ``owner``, with ``picture``."""
    duplicate = _item_taken(category, name.strip())
    # Made inside the savepoint: the item joins its category's and owner's collections,
    # which would otherwise be flushed, without it, when the savepoint begins.
    with _change(duplicate, savepoint=savepoint):
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
    return item


def change_item(item: Item, version: int | None, *, savepoint: bool = True, **changes: Any) -> Item:
    """Apply ``changes`` (name, description, category, image_alt, and ``picture``: a
    processed picture, or None to remove it) to ``item`` read at ``version``.

    Raises ``StaleVersion`` when the item moved past ``version``, here or in
    a concurrent transaction, so that no one's edit is silently overwritten.
    """
    if item.version != version:
        raise StaleVersion("Someone else changed this while you were editing it.")
    unknown = set(changes) - {"name", "description", "category", "image_alt", "picture"}
    if unknown:
        raise TypeError(f"unknown item fields: {', '.join(sorted(unknown))}")
    name = changes["name"].strip() if "name" in changes else item.name
    category = changes.get("category", item.category)
    was = (item.category_id, item.slug)
    with _change(_item_taken(category, name), savepoint=savepoint):
        if "name" in changes:
            item.name = name
            item.slug = slugify(name)
        if (category.id, item.slug) != was:
            # Its old URL keeps working: a 301 to the new one (catalog.lookups).
            db.session.add(OldItemSlug(category_id=was[0], slug=was[1], item_id=item.id))
        for field in ("description", "category", "image_alt"):
            if field in changes:
                setattr(item, field, changes[field])
        if "picture" in changes:
            # Stored without flushing the item: its changes go out in one UPDATE, below.
            with db.session.no_autoflush:
                store.attach(item, changes["picture"])
    return item


def remove_item(item: Item, version: int | None = None, *, savepoint: bool = True) -> None:
    """Delete ``item``; with ``version``, only if nobody changed it since."""
    if version is not None and item.version != version:
        raise StaleVersion("Someone else changed this item since you last saw it.")
    with _change(None, savepoint=savepoint):
        db.session.delete(item)


def add_category(name: str, description: str = "") -> Category:
    """Add a category named ``name``."""
    category = Category(name=name.strip(), slug=slugify(name), description=description)
    with _change(_category_taken(category.name)):
        db.session.add(category)
    return category


def change_category(category: Category, name: str, description: str) -> Category:
    """Rename ``category`` and change its description."""
    was = category.slug
    with _change(_category_taken(name.strip())):
        category.name = name.strip()
        category.slug = slugify(category.name)
        category.description = description
        if category.slug != was:
            # Its old URLs, and its items', keep working: 301s to the new ones.
            db.session.add(OldCategorySlug(slug=was, category_id=category.id))
    return category


def remove_category(category: Category) -> None:
    """Delete ``category`` if it holds no items."""
    if category.item_count:
        raise CategoryNotEmpty(
            f"{category.name} still holds {category.item_count} item(s); move or delete them first."
        )
    try:
        with db.session.begin_nested():
            db.session.delete(category)
    except IntegrityError as exc:  # an item arrived after the count was read
        raise CategoryNotEmpty(
            f"{category.name} is not empty; move or delete its items first."
        ) from exc
