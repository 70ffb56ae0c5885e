"""Items and categories as plain dicts: the one shape the API and /catalog.json share.

The fields are what an item's page shows (name, description, category, owner,
dates) plus what a program needs to address and change it (id, slug, version).
Nothing here knows about URLs or the request; the blueprints add links.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, select

from catalog.models import Category, Image, Item, User

# A statement selecting, and a row of, columns of any types: what listings read.
AnySelect = Select[*tuple[Any, ...]]
AnyRow = Row[*tuple[Any, ...]]

# The columns an item's dict is made of, named as ``item_fields`` takes them; selecting
# these instead of ORM objects keeps large listings cheap.
ITEM_COLUMNS = (
    Item.id,
    Item.name,
    Item.slug,
    Item.description,
    Item.created,
    Item.updated,
    Item.version,
    Category.slug.label("category_slug"),
    Category.name.label("category_name"),
    User.id.label("owner_id"),
    User.name.label("owner_name"),
    Item.image_alt,
    Item.image_sha256,
    Image.width.label("image_width"),
    Image.height.label("image_height"),
    Image.format.label("image_format"),
)


# The columns a category's dict is made of, as ``category_fields`` takes them.
CATEGORY_COLUMNS = (
    Category.id,
    Category.name,
    Category.slug,
    Category.description,
    Category.item_count,
)


def item_rows() -> AnySelect:
    """Return a query for ``ITEM_COLUMNS`` of every item, joined to its category, owner and
    picture (if any)."""
    return (
        select(*ITEM_COLUMNS)
        .select_from(Item)
        .join(Item.category)
        .join(Item.owner)
        .outerjoin(Item.image)
    )


def picture_fields(
    *,
    name: str,
    image_alt: str,
    image_sha256: str | None,
    image_width: int | None,
    image_height: int | None,
    image_format: str | None,
) -> dict[str, Any] | None:
    """Return which picture an item shows (``Links.add_to_item`` makes its URLs), or None.

    Its ``alt`` is what the owner wrote, else the item's name.
    """
    if image_sha256 is None:
        return None
    return {
        "sha256": image_sha256,
        "format": image_format,
        "width": image_width,
        "height": image_height,
        "alt": image_alt or name,
    }


def item_fields(
    *,
    id: int,
    name: str,
    slug: str,
    description: str,
    created: datetime,
    updated: datetime,
    version: int,
    category_slug: str,
    category_name: str,
    owner_id: int,
    owner_name: str,
    image_alt: str = "",
    image_sha256: str | None = None,
    image_width: int | None = None,
    image_height: int | None = None,
    image_format: str | None = None,
) -> dict[str, Any]:
    """Return an item as a dict of JSON values; timestamps are ISO 8601 in UTC."""
    return {
        "id": id,
        "name": name,
        "slug": slug,
        "description": description,
        "category": {"slug": category_slug, "name": category_name},
        "owner": {"id": owner_id, "name": owner_name},
        "created": created.isoformat(),
        "updated": updated.isoformat(),
        "version": version,
        "image_alt": image_alt,
        "image": picture_fields(
            name=name,
            image_alt=image_alt,
            image_sha256=image_sha256,
            image_width=image_width,
            image_height=image_height,
            image_format=image_format,
        ),
    }


def item_dict(item: Item) -> dict[str, Any]:
    """Return ``item`` (with its category and owner loaded) as ``item_fields`` does."""
    image = item.image
    return item_fields(
        id=item.id,
        name=item.name,
        slug=item.slug,
        description=item.description,
        created=item.created,
        updated=item.updated,
        version=item.version,
        category_slug=item.category.slug,
        category_name=item.category.name,
        owner_id=item.owner.id,
        owner_name=item.owner.name,
        image_alt=item.image_alt,
        image_sha256=image.sha256 if image else None,
        image_width=image.width if image else None,
        image_height=image.height if image else None,
        image_format=image.format if image else None,
    )


def category_fields(
    *, id: int, name: str, slug: str, description: str, item_count: int
) -> dict[str, Any]:
    """Return a category with its item count as a dict of JSON values."""
    return {
        "id": id,
        "name": name,
        "slug": slug,
        "description": description,
        "item_count": item_count,
    }


def category_dict(category: Category) -> dict[str, Any]:
    """Return ``category`` as ``category_fields`` does."""
    return category_fields(
        **{column.key: getattr(category, column.key) for column in CATEGORY_COLUMNS}
    )
