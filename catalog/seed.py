"""``flask seed``: the demo catalog, or synthetic items for scale."""

import functools
import secrets
from collections.abc import Callable
from itertools import cycle

from sqlalchemy import func, insert, select

from catalog import demo
from catalog.extensions import db
from catalog.images import drawing, store
from catalog.images.processing import Picture, process
from catalog.models import Category, Item, User, recount_items, utcnow
from catalog.slugs import slugify

BATCH_SIZE = 5_000

_ADJECTIVES = (
    "Lightweight",
    "Classic",
    "Pro",
    "Compact",
    "Trail",
    "Urban",
    "Alpine",
    "Rapid",
    "Vintage",
    "Ultra",
    "Heritage",
    "Carbon",
    "Everyday",
    "Expedition",
    "Training",
)
_NOUNS = (
    "Helmet",
    "Backpack",
    "Jacket",
    "Glove",
    "Bottle",
    "Board",
    "Lamp",
    "Shoe",
    "Bag",
    "Rope",
    "Stick",
    "Ball",
    "Watch",
    "Pump",
    "Tent",
    "Mat",
)


@functools.cache
def demo_picture(category: str, item: str, index: int) -> Picture:
    """Return the demo picture of ``item``, drawn and processed once per process."""
    # Drawn here, not uploaded: the upload limits are not this picture's.
    return process(drawing.poster(category, item, index), max_bytes=10**8, max_pixels=10**7)


def seed_demo() -> bool:
    """Load the demo catalog into an empty database; return whether anything was added.

    Every demo item gets a picture, drawn on the spot (catalog.images.drawing).
    """
    if db.session.scalar(select(func.count()).select_from(Category)):
        return False
    # The pictures first: storing them runs statements, which would flush half-made items.
    pictures = {
        (name, item): store.save(demo_picture(name, item, n))
        for n, (name, _, items) in enumerate(demo.CATALOG)
        for item, _ in items
    }
    users = [
        User(issuer=demo.DEMO_ISSUER, subject=u["subject"], name=u["name"], email=u["email"])
        for u in demo.USERS
    ]
    owners = cycle(users)
    for name, description, items in demo.CATALOG:
        category = Category(name=name, slug=slugify(name), description=description)
        category.items = [
            Item(
                name=i,
                slug=slugify(i),
                description=d,
                owner=next(owners),
                image_sha256=pictures[name, i],
            )
            for i, d in items
        ]
        db.session.add(category)
    db.session.commit()
    return True


def seed_synthetic(count: int, progress: Callable[[int], object] | None = None) -> None:
    """Insert ``count`` generated items spread over every category, in batches.

    Rows go in with multi-row INSERTs and the categories' item counts are
    recomputed once at the end, so each batch costs one round trip.
    """
    category_ids = list(db.session.scalars(select(Category.id).order_by(Category.id)))
    owner_ids = list(db.session.scalars(select(User.id).order_by(User.id)))
    run = secrets.token_hex(3)  # keeps slugs unique across repeated runs
    done = 0
    while done < count:
        size = min(BATCH_SIZE, count - done)
        now = utcnow()
        rows = []
        for n in range(done, done + size):
            name = f"{_ADJECTIVES[n % len(_ADJECTIVES)]} {_NOUNS[n // 7 % len(_NOUNS)]} {n + 1}"
            rows.append(
                {
                    "category_id": category_ids[n % len(category_ids)],
                    "owner_id": owner_ids[n % len(owner_ids)],
                    "name": f"{name} ({run})",
                    "slug": f"{slugify(name)}-{run}",
                    "description": f"Synthetic item {n + 1} of batch {run}, for scale testing.",
                    "created": now,
                    "updated": now,
                    "version": 1,
                }
            )
        db.session.execute(insert(Item), rows)
        done += size
        if progress is not None:
            progress(size)
    recount_items(db.session)
    db.session.commit()
