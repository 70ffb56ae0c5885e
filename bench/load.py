"""Benchmark databases: one per catalog size, migrated, bulk-loaded with COPY, and reused.

Each size lives in its own database (``catalog_bench_1k``, ``catalog_bench_100k``, ...).
What was loaded is recorded as a comment on the database; a database is reused when that
record, the loader's version and the row counts all agree, and rebuilt otherwise.
"""

import json
import os
import random
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
from psycopg import sql

from catalog.images.drawing import poster
from catalog.images.processing import Picture, process

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/"

# Bump when the generated data changes, so that older loads are rebuilt.
LOADER_VERSION = 3
SEED = 20240601
# The share of items with a picture, and how many distinct pictures they share: drawn and
# processed as the demo's are, stored once each, as uploads of the same file would be.
PICTURE_SHARE = 0.25
PICTURES = 40

CATEGORIES = (
    "Soccer", "Basketball", "Baseball", "Cycling", "Running", "Hiking", "Climbing", "Skiing",
    "Snowboarding", "Surfing", "Swimming", "Tennis", "Badminton", "Table Tennis", "Golf",
    "Hockey", "Skating", "Skateboarding", "Kayaking", "Rowing", "Sailing", "Fishing", "Camping",
    "Yoga", "Boxing", "Martial Arts", "Fencing", "Archery", "Volleyball", "Handball", "Rugby",
    "Cricket", "Lacrosse", "Frisbee", "Bowling", "Darts", "Billiards", "Chess", "Gymnastics",
    "Weightlifting", "Triathlon", "Orienteering", "Paddleboarding", "Diving", "Equestrian",
    "Curling", "Squash", "Pickleball", "Mountaineering", "Trail Running",
)  # fmt: skip
ADJECTIVES = (
    "Alpine", "Carbon", "Classic", "Compact", "Everyday", "Expedition", "Heritage", "Lightweight",
    "Pro", "Rapid", "Trail", "Training", "Ultra", "Urban", "Vintage", "Summit", "Storm", "Aero",
    "Coastal", "Nordic",
)  # fmt: skip
NOUNS = (
    "Helmet", "Backpack", "Jacket", "Glove", "Bottle", "Board", "Lamp", "Shoe", "Bag", "Rope",
    "Stick", "Ball", "Watch", "Pump", "Tent", "Mat", "Racket", "Paddle", "Harness", "Goggles",
    "Vest", "Cap", "Sock", "Towel", "Net",
)  # fmt: skip
FEATURES = (
    "Water-resistant shell with taped seams.",
    "Recycled polyester, bluesign approved.",
    "Reinforced at the points that wear first.",
    "Packs into its own pocket.",
    "Reflective details for early mornings and late evenings.",
    "Ergonomic grip that stays put when wet.",
    "Two-year warranty and spare parts available.",
    "Tested by club athletes over a full season.",
    "Machine washable at 30 degrees.",
    "Adjustable fit for a wide range of sizes.",
)
FIRST_NAMES = ("Ada", "Sam", "Lena", "Omar", "Mei", "Ivan", "Zoe", "Kofi", "Nora", "Ravi")
LAST_NAMES = ("Brooks", "Okafor", "Fischer", "Haddad", "Tanaka", "Petrov", "Silva", "Mensah")


def size_label(size: int) -> str:
    """Return a short label for a catalog size: 1000 -> 1k, 1000000 -> 1m."""
    if size % 1_000_000 == 0:
        return f"{size // 1_000_000}m"
    if size % 1_000 == 0:
        return f"{size // 1_000}k"
    return str(size)


def database_name(size: int) -> str:
    """Return the name of the benchmark database that holds ``size`` items."""
    return f"catalog_bench_{size_label(size)}"


def libpq_url(url: str) -> str:
    """Return ``url`` as a libpq URL (no SQLAlchemy driver suffix)."""
    scheme, sep, rest = url.strip().partition("://")
    if not sep:
        raise SystemExit(f"BENCH_DATABASE_URL is not a URL: {url!r}")
    if scheme.split("+")[0] not in ("postgres", "postgresql"):
        raise SystemExit(f"BENCH_DATABASE_URL must be a PostgreSQL URL, not {scheme}://")
    return f"postgresql://{rest}"


def with_database(url: str, name: str) -> str:
    """Return the server URL ``url`` pointed at the database ``name``."""
    return urlsplit(libpq_url(url))._replace(path=f"/{name}").geturl()


def category_sizes(total: int, count: int = len(CATEGORIES)) -> list[int]:
    """Split ``total`` items (at least ``count``) over ``count`` categories with a long tail.

    Shares follow a Zipf-like curve: the largest category holds about a fifth of the
    items, the smallest about 0.5%; every category holds at least one.
    """
    weights = [1 / (k**0.9) for k in range(1, count + 1)]
    spare = total - count
    scale = spare / sum(weights)
    sizes = [1 + int(w * scale) for w in weights]
    # Hand out what rounding left over to the categories that lost most to it.
    order = sorted(range(count), key=lambda k: int(weights[k] * scale) - weights[k] * scale)
    for k in order[: total - sum(sizes)]:
        sizes[k] += 1
    return sizes


def _recorded(admin, name: str) -> dict | None:
    row = admin.execute(
        "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
        [name],
    ).fetchone()
    if row is None:
        return None
    try:
        return json.loads(row[0] or "{}")
    except ValueError:
        return {}


def _counts(url: str) -> tuple[int, int, int]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT (SELECT count(*) FROM items), (SELECT count(*) FROM categories),"
            " (SELECT count(*) FROM users)"
        ).fetchone()


def upgrade(url: str) -> None:
    """Run ``flask db upgrade`` against ``url``, as a deployment's release phase would."""
    env = dict(os.environ, DATABASE_URL=url, FLASK_APP="catalog", SECRET_KEY="bench-upgrade")
    env.pop("FLASK_DEBUG", None)
    result = subprocess.run(
        [sys.executable, "-m", "flask", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if result.returncode:
        raise RuntimeError(f"flask db upgrade failed:\n{result.stdout}\n{result.stderr}")


def ensure_loaded(server_url: str, size: int, log=print) -> dict:
    """Return facts about a migrated database holding ``size`` items, loading it if needed."""
    name = database_name(size)
    url = with_database(server_url, name)
    admin_url = with_database(server_url, "postgres")
    with psycopg.connect(admin_url, autocommit=True) as admin:
        recorded = _recorded(admin, name)
        if recorded is None:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    upgrade(url)
    want = {"items": size, "loader": LOADER_VERSION}
    if recorded and all(recorded.get(k) == v for k, v in want.items()):
        items, categories, users = _counts(url)
        if (items, categories, users) == (size, recorded["categories"], recorded["users"]):
            log(f"{name}: reusing {size:,} items (loaded {recorded['loaded_at']})")
            return {"database": name, "url": url, "reused": True, **recorded}
        log(f"{name}: holds {items:,} items, not {size:,}; rebuilding")
    elif recorded is not None:
        log(f"{name}: not a load of {size:,} items by loader v{LOADER_VERSION}; rebuilding")
    if recorded is not None:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            ident = sql.Identifier(name)
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
            admin.execute(sql.SQL("CREATE DATABASE {}").format(ident))
        upgrade(url)

    started = time.monotonic()
    log(f"{name}: loading {size:,} items")
    facts = load(url, size)
    facts["load_seconds"] = round(time.monotonic() - started, 1)
    facts["loaded_at"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    record = {**want, **facts}
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(
            sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                sql.Identifier(name), sql.Literal(json.dumps(record))
            )
        )
    log(f"{name}: loaded {size:,} items in {facts['load_seconds']} s")
    return {"database": name, "url": url, "reused": False, **record}


def pictures(count: int = PICTURES) -> list[Picture]:
    """Return ``count`` distinct pictures, checked and resized as uploads are."""
    return [
        process(
            poster(CATEGORIES[n % len(CATEGORIES)], f"Bench picture {n + 1}", n),
            max_bytes=10**8,
            max_pixels=10**7,
        )
        for n in range(count)
    ]


def load(url: str, size: int, picture_share: float = PICTURE_SHARE) -> dict:
    """Fill the empty, migrated database at ``url`` with users, categories and ``size`` items,
    ``picture_share`` of them with a picture.

    Rows go in with COPY; then item counts are recomputed in one statement and the
    tables are vacuumed and analysed, as autovacuum would have done in production.
    """
    rng = random.Random(SEED)
    # Its own generator, so that the items are the ones earlier loader versions made.
    picture_rng = random.Random(SEED + 1)
    drawn_pictures = pictures() if picture_share > 0 else []
    shas = [picture.sha256 for picture in drawn_pictures]
    now = datetime.now(UTC).replace(microsecond=0)
    user_count = max(10, min(5_000, size // 200))
    with psycopg.connect(url) as conn:
        conn.execute("SET synchronous_commit = off")
        with conn.cursor() as cur:
            with cur.copy("COPY users (issuer, subject, email, name, created) FROM STDIN") as copy:
                for n in range(1, user_count + 1):
                    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
                    joined = now - timedelta(days=1200 - n * 1000 // user_count)
                    email = f"{first.lower()}.{last.lower()}{n}@bench.invalid"
                    copy.write_row(
                        ("urn:catalog:bench", f"user-{n}", email, f"{first} {last}", joined)
                    )
            with cur.copy("COPY categories (name, slug, description, created) FROM STDIN") as copy:
                for name in CATEGORIES:
                    slug = name.lower().replace(" ", "-")
                    copy.write_row((name, slug, f"Gear for {name.lower()}.", now - timedelta(1500)))
            with cur.copy(
                "COPY images (sha256, width, height, format, created) FROM STDIN"
            ) as copy:
                for picture in drawn_pictures:
                    copy.write_row(
                        (picture.sha256, picture.width, picture.height, picture.format, now)
                    )
            with cur.copy(
                "COPY image_files (image_sha256, variant, media_type, data) FROM STDIN"
            ) as copy:
                for picture in drawn_pictures:
                    for file in picture.files:
                        copy.write_row((picture.sha256, file.variant, file.media_type, file.data))
            users = [r[0] for r in cur.execute("SELECT id FROM users ORDER BY id")]
            categories = [r[0] for r in cur.execute("SELECT id FROM categories ORDER BY id")]

            # Items arrive over three years in categories of long-tailed sizes, shuffled;
            # ids and creation times grow together, as they do when people add items.
            sizes = category_sizes(size, len(categories))
            drawn = [c for c, n in zip(categories, sizes, strict=True) for _ in range(n)]
            rng.shuffle(drawn)
            owners = rng.choices(users, k=size)
            start = now - timedelta(days=3 * 365)
            step = (now - start) / max(size, 1)
            columns = (
                "category_id, owner_id, name, slug, description, created, updated, image_sha256"
            )
            with cur.copy(f"COPY items ({columns}) FROM STDIN") as copy:
                for n in range(size):
                    adjective, noun = rng.choice(ADJECTIVES), rng.choice(NOUNS)
                    number = n + 1
                    created = start + step * n
                    updated = min(now, created + timedelta(hours=rng.randrange(0, 24 * 60)))
                    description = (
                        f"{adjective} {noun.lower()} for {rng.choice(CATEGORIES).lower()}. "
                        + " ".join(rng.sample(FEATURES, rng.randrange(1, 5)))
                    )
                    copy.write_row(
                        (
                            drawn[n],
                            owners[n],
                            f"{adjective} {noun} {number}",
                            f"{adjective.lower()}-{noun.lower()}-{number}",
                            description,
                            created,
                            updated,
                            picture_rng.choice(shas)
                            if shas and picture_rng.random() < picture_share
                            else None,
                        )
                    )
            cur.execute(
                "UPDATE categories SET item_count = counted.n"
                " FROM (SELECT category_id, count(*) AS n FROM items GROUP BY category_id)"
                " AS counted WHERE categories.id = counted.category_id"
            )
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) users, categories, items, images, image_files")
    return {"categories": len(categories), "users": user_count, "pictures": len(shas)}


def largest_category(url: str) -> tuple[str, int]:
    """Return the slug and item count of the category with the most items."""
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT slug, item_count FROM categories ORDER BY item_count DESC, id LIMIT 1"
        ).fetchone()


def slug_at(url: str, category_slug: str, position: int) -> str | None:
    """Return the slug of the item at ``position`` (0-based) of a category, in slug order."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT i.slug FROM items i JOIN categories c ON c.id = i.category_id"
            " WHERE c.slug = %s ORDER BY i.slug OFFSET %s LIMIT 1",
            [category_slug, position],
        ).fetchone()
    return row[0] if row else None


def sample_items(url: str, count: int, seed: int = SEED) -> list[tuple[int, str, str]]:
    """Return ``count`` items spread over the catalog as (id, category slug, item slug)."""
    with psycopg.connect(url) as conn:
        low, high = conn.execute("SELECT min(id), max(id) FROM items").fetchone()
        if low is None:
            return []
        rng = random.Random(seed)
        ids = [rng.randint(low, high) for _ in range(count)]
        rows = conn.execute(
            "SELECT i.id, c.slug, i.slug FROM items i JOIN categories c ON c.id = i.category_id"
            " WHERE i.id = ANY(%s)",
            [ids],
        ).fetchall()
    by_id = {row[0]: row for row in rows}
    return [by_id[i] for i in ids if i in by_id]


def sample_pictures(url: str, count: int) -> list[str]:
    """Return the SHA-256 of up to ``count`` pictures items show."""
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT sha256 FROM images ORDER BY sha256 LIMIT %s", [count])
        return [row[0] for row in rows]
