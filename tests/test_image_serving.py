"""Serving pictures: immutable URLs named by the hash, ETags and 304, one query each."""

import hashlib
import io

import pytest
from PIL import Image
from support import pictures
from support.api_data import seed_api_catalog

from catalog import changes
from catalog.extensions import db
from catalog.images.processing import process
from catalog.models import Item

LIMITS = {"max_bytes": 5_000_000, "max_pixels": 40_000_000}
PICTURE = process(pictures.solid("JPEG", size=(1600, 1200)), **LIMITS)


@pytest.fixture
def shown(app):
    """Seed the API catalog and give the Match Ball a picture; return the seeded data."""
    seeded = seed_api_catalog(app)
    with app.app_context():
        item = db.session.get(Item, seeded.items["ball"])
        changes.change_item(item, item.version, picture=PICTURE)
        db.session.commit()
    return seeded


def url(variant: str, sha256: str = PICTURE.sha256) -> str:
    return f"/images/{sha256}-{variant}"


@pytest.mark.parametrize(
    ("variant", "media_type", "size"),
    [
        ("full.jpg", "image/jpeg", (1600, 1200)),
        ("1200.webp", "image/webp", (1200, 900)),
        ("1200.jpg", "image/jpeg", (1200, 900)),
        ("200.webp", "image/webp", (200, 150)),
        ("200.jpg", "image/jpeg", (200, 150)),
    ],
)
def test_each_file_is_served_for_good(client, shown, variant, media_type, size):
    response = client.get(url(variant))
    assert response.status_code == 200
    assert response.mimetype == media_type
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["ETag"] == f'"{PICTURE.sha256}-{variant}"'
    assert int(response.headers["Content-Length"]) == len(response.data)
    assert Image.open(io.BytesIO(response.data)).size == size
    assert response.data == {f.variant: f.data for f in PICTURE.files}[variant]


def test_the_url_names_the_original_by_its_hash(client, shown):
    assert hashlib.sha256(client.get(url("full.jpg")).data).hexdigest() == PICTURE.sha256


def test_revalidation_answers_304_without_the_bytes(client, shown):
    first = client.get(url("200.webp"))
    again = client.get(url("200.webp"), headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    weak = client.get(url("200.webp"), headers={"If-None-Match": f"W/{first.headers['ETag']}"})
    assert weak.status_code == 304
    other = client.get(url("200.webp"), headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200


@pytest.mark.parametrize(
    "name",
    [
        "0" * 64 + "-200.webp",  # no such picture
        PICTURE.sha256 + "-300.webp",  # no such size
        PICTURE.sha256 + "-full.png",  # not this picture's original format
        PICTURE.sha256 + "-200.gif",
        PICTURE.sha256.upper() + "-200.webp",
        PICTURE.sha256[:-1] + "-200.webp",
        "..%2f..%2fetc%2fpasswd",
    ],
)
def test_anything_else_is_404(client, shown, name):
    response = client.get(f"/images/{name}")
    assert response.status_code == 404
    assert (
        "Cache-Control" not in response.headers
        or "immutable" not in (response.headers["Cache-Control"])
    )


def test_a_picture_deleted_is_404_even_to_a_revalidation(app, client, shown):
    etag = client.get(url("200.jpg")).headers["ETag"]
    with app.app_context():
        item = db.session.get(Item, shown.items["ball"])
        changes.change_item(item, item.version, picture=None)
        db.session.commit()
    assert client.get(url("200.jpg")).status_code == 404
    assert client.get(url("200.jpg"), headers={"If-None-Match": etag}).status_code == 404


@pytest.mark.parametrize("revalidate", [False, True], ids=["200", "304"])
def test_one_query_and_no_session_whoever_asks(app, shown, signed_in, count_queries, revalidate):
    client = signed_in("ada")
    headers = {"If-None-Match": f'"{PICTURE.sha256}-1200.webp"'} if revalidate else {}
    with count_queries() as queries:
        response = client.get(url("1200.webp"), headers=headers)
    assert response.status_code == (304 if revalidate else 200)
    assert len(queries) == 1, queries
    assert "image_files" in queries[0]
    # The same for everyone: nothing varies by cookie, and no cookie is set.
    assert "Cookie" not in response.headers.get("Vary", "")
    assert "Set-Cookie" not in response.headers


def test_head_answers_like_get_without_the_body(client, shown):
    response = client.head(url("200.jpg"))
    assert response.status_code == 200
    assert response.data == b""
    assert response.headers["Content-Type"] == "image/jpeg"
