"""Pictures through the API: PUT and DELETE /api/v1/items/{id}/image, If-Match, who may."""

import io
import time

import pytest
from PIL import Image
from sqlalchemy import func, select
from support import pictures
from support.api_data import seed_api_catalog
from test_image_uploads import Unread

from catalog.extensions import db
from catalog.models import IMAGE_ALT_MAX, ImageFile, Item
from catalog.models import Image as StoredImage


@pytest.fixture
def seeded(app):
    return seed_api_catalog(app)


def image_url(item_id: int) -> str:
    return f"/api/v1/items/{item_id}/image"


def put(client, seeded, data: bytes, subject="ada", item="ball", **headers):
    headers.setdefault("Content-Type", "image/jpeg")
    return client.put(
        image_url(seeded.items[item]), data=data, headers={**seeded.bearer(subject), **headers}
    )


def stored(app) -> tuple[int, int]:
    with app.app_context():
        return (
            db.session.scalar(select(func.count()).select_from(StoredImage)),
            db.session.scalar(select(func.count()).select_from(ImageFile)),
        )


def assert_problem(response, status: int, words: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["status"] == status
    if words is not None:
        assert words in problem["detail"]
    return problem


def test_put_gives_the_item_a_picture(app, client, seeded):
    before = client.get(f"/api/v1/items/{seeded.items['ball']}")
    response = put(client, seeded, pictures.solid("JPEG", size=(1600, 1200)))
    assert response.status_code == 200
    item = response.get_json()
    assert item["version"] == before.get_json()["version"] + 1
    assert response.headers["ETag"] == f'"item-{item["id"]}-v{item["version"]}"'
    assert response.headers["ETag"] != before.headers["ETag"]
    image = item["image"]
    sha = image["url"].split("/images/")[1].split("-")[0]
    assert image == {
        "alt": "Match Ball",
        "width": 1600,
        "height": 1200,
        "url": f"http://localhost/images/{sha}-full.jpg",
        "display": {
            "width": 1200,
            "height": 900,
            "webp": f"http://localhost/images/{sha}-1200.webp",
            "jpeg": f"http://localhost/images/{sha}-1200.jpg",
        },
        "thumbnail": {
            "width": 200,
            "height": 150,
            "webp": f"http://localhost/images/{sha}-200.webp",
            "jpeg": f"http://localhost/images/{sha}-200.jpg",
        },
    }
    # What the write answered is what a read says, and every URL serves its file.
    assert client.get(item["api_url"]).get_json() == item
    for url, size in (
        (image["url"], image),
        (image["display"]["webp"], image["display"]),
        (image["thumbnail"]["jpeg"], image["thumbnail"]),
    ):
        served = client.get(url)
        assert served.status_code == 200
        assert Image.open(io.BytesIO(served.data)).size == (size["width"], size["height"])


def test_the_type_sent_decides_nothing_the_content_does(client, seeded):
    response = put(client, seeded, pictures.solid("PNG"), **{"Content-Type": "image/gif"})
    assert response.status_code == 200
    assert response.get_json()["image"]["url"].endswith("-full.png")


def test_put_again_replaces_and_the_old_bytes_go(app, client, seeded):
    first = put(client, seeded, pictures.solid("PNG", color=(255, 0, 0))).get_json()
    second = put(client, seeded, pictures.solid("PNG", color=(0, 255, 0))).get_json()
    assert second["version"] == first["version"] + 1
    assert second["image"]["url"] != first["image"]["url"]
    assert stored(app) == (1, 5)
    assert client.get(first["image"]["url"]).status_code == 404
    # The same picture once more changes nothing: same version, same ETag.
    third = put(client, seeded, pictures.solid("PNG", color=(0, 255, 0)))
    assert third.get_json()["version"] == second["version"]


def test_delete_removes_the_picture_and_its_bytes(app, client, seeded):
    shown = put(client, seeded, pictures.solid("PNG")).get_json()
    response = client.delete(image_url(seeded.items["ball"]), headers=seeded.bearer("ada"))
    assert response.status_code == 200
    item = response.get_json()
    assert item["image"] is None
    assert item["version"] == shown["version"] + 1
    assert stored(app) == (0, 0)
    # Removing a picture that is not there changes nothing.
    again = client.delete(image_url(seeded.items["ball"]), headers=seeded.bearer("ada"))
    assert again.status_code == 200
    assert again.get_json()["version"] == item["version"]


def test_one_picture_for_two_items_is_stored_once_and_kept_for_the_other(app, client, seeded):
    put(client, seeded, pictures.solid("PNG"), item="ball")
    put(client, seeded, pictures.solid("PNG"), subject="sam", item="stick")
    assert stored(app) == (1, 5)
    client.delete(image_url(seeded.items["ball"]), headers=seeded.bearer("ada"))
    assert stored(app) == (1, 5)
    client.delete(f"/api/v1/items/{seeded.items['stick']}", headers=seeded.bearer("sam"))
    assert stored(app) == (0, 0)


def test_if_match_is_honoured(app, client, seeded):
    etag = client.get(f"/api/v1/items/{seeded.items['ball']}").headers["ETag"]
    client.patch(
        f"/api/v1/items/{seeded.items['ball']}",
        json={"description": "Changed."},
        headers=seeded.bearer("ada"),
    )
    stale = put(client, seeded, pictures.solid("PNG"), **{"If-Match": etag})
    assert_problem(stale, 412, "changed since you read it")
    assert stored(app) == (0, 0)
    gone = client.delete(
        image_url(seeded.items["ball"]), headers={**seeded.bearer("ada"), "If-Match": etag}
    )
    assert_problem(gone, 412)
    current = client.get(f"/api/v1/items/{seeded.items['ball']}").headers["ETag"]
    fresh = put(client, seeded, pictures.solid("PNG"), **{"If-Match": current})
    assert fresh.status_code == 200
    assert_problem(put(client, seeded, pictures.solid("PNG"), **{"If-Match": ""}), 400)


@pytest.mark.parametrize(
    ("who", "put_status", "delete_status"),
    [("anonymous", 401, 401), ("owner", 200, 200), ("other", 403, 403), ("admin", 200, 200)],
)
def test_who_may_change_a_picture(app, client, seeded, who, put_status, delete_status):
    subject = {"owner": "ada", "other": "sam", "admin": "lena"}.get(who)
    headers = seeded.bearer(subject) if subject else {}
    url = image_url(seeded.items["ball"])
    response = client.put(
        url, data=pictures.solid("PNG"), headers={**headers, "Content-Type": "image/png"}
    )
    assert response.status_code == put_status
    assert stored(app) == ((1, 5) if put_status == 200 else (0, 0))
    # Then someone allowed gives it one, and this person tries to remove it.
    put(client, seeded, pictures.solid("JPEG"))
    response = client.delete(url, headers=headers)
    assert response.status_code == delete_status
    with app.app_context():
        kept = db.session.get(Item, seeded.items["ball"]).image_sha256 is not None
    assert kept == (delete_status != 200)


def test_an_unknown_item_is_404(client, seeded):
    response = client.put(
        image_url(999_999),
        data=pictures.solid("PNG"),
        headers={**seeded.bearer("ada"), "Content-Type": "image/png"},
    )
    assert_problem(response, 404)
    assert_problem(client.delete(image_url(999_999), headers=seeded.bearer("ada")), 404)


@pytest.mark.parametrize(
    ("data", "content_type", "status", "words"),
    [
        (pictures.SVG, "image/svg+xml", 415, "Content-Type"),
        (pictures.solid("PNG"), "application/octet-stream", 415, "Content-Type"),
        (pictures.solid("PNG"), "application/json", 415, "Content-Type"),
        (pictures.HTML, "image/jpeg", 415, "not a JPEG, PNG, WebP or GIF"),
        (pictures.SVG, "image/png", 415, "not a JPEG, PNG, WebP or GIF"),
        (b"", "image/png", 415, "empty"),
        (pictures.solid("JPEG", size=(400, 300))[:900], "image/jpeg", 422, "damaged"),
        (pictures.solid("JPEG") + b"<script>x</script>", "image/jpeg", 422, "besides a picture"),
        (pictures.png_claiming(100_000, 100_000), "image/png", 413, "megapixels"),
    ],
    ids=[
        "svg-as-svg",
        "octet-stream",
        "json",
        "html-as-jpeg",
        "svg-as-png",
        "empty",
        "truncated",
        "polyglot",
        "bomb",
    ],
)
def test_what_is_not_a_picture_is_a_problem(app, client, seeded, data, content_type, status, words):
    started = time.perf_counter()
    response = put(client, seeded, data, **{"Content-Type": content_type})
    assert time.perf_counter() - started < 1
    assert_problem(response, status, words)
    assert stored(app) == (0, 0)
    with app.app_context():
        assert db.session.get(Item, seeded.items["ball"]).version == 1


def test_a_body_over_the_limit_is_413_without_being_read(client, seeded):
    response = client.put(
        image_url(seeded.items["ball"]),
        input_stream=Unread(50_000_000),
        headers={**seeded.bearer("ada"), "Content-Type": "image/jpeg"},
    )
    assert_problem(response, 413, "This upload is 50 MB; the largest picture accepted is 5 MB.")


def test_a_picture_just_over_the_byte_limit_is_413(app, client, seeded):
    app.config["IMAGE_MAX_BYTES"] = 100_000
    data = pictures.noisy_png((200, 200))
    assert_problem(put(client, seeded, data, **{"Content-Type": "image/png"}), 413, "0.1 MB")
    small = put(client, seeded, pictures.solid("PNG"), **{"Content-Type": "image/png"})
    assert small.status_code == 200


def test_json_bodies_keep_their_16_kib_limit(client, seeded):
    response = client.patch(
        f"/api/v1/items/{seeded.items['ball']}",
        data=b'{"description": "' + b"x" * 20_000 + b'"}',
        headers={**seeded.bearer("ada"), "Content-Type": "application/json"},
    )
    assert_problem(response, 413)


def test_the_alt_text_is_written_through_create_and_change(client, seeded):
    created = client.post(
        "/api/v1/items",
        json={"category": "soccer", "name": "Flag", "image_alt": "  A corner flag  "},
        headers=seeded.bearer("ada"),
    ).get_json()
    assert created["image_alt"] == "A corner flag"
    assert created["image"] is None
    url = created["api_url"]
    changed = client.patch(url, json={"image_alt": ""}, headers=seeded.bearer("ada")).get_json()
    assert changed["image_alt"] == ""
    item_id = created["id"]
    shown = client.put(
        image_url(item_id),
        data=pictures.solid("PNG"),
        headers={**seeded.bearer("ada"), "Content-Type": "image/png"},
    ).get_json()
    assert shown["image"]["alt"] == "Flag"
    written = client.patch(url, json={"image_alt": "Orange"}, headers=seeded.bearer("ada"))
    assert written.get_json()["image"]["alt"] == "Orange"


@pytest.mark.parametrize("alt", ["x" * (IMAGE_ALT_MAX + 1), "two\nlines", "bell\x07", 5], ids=str)
def test_a_bad_alt_text_is_422(client, seeded, alt):
    response = client.patch(
        f"/api/v1/items/{seeded.items['ball']}",
        json={"image_alt": alt},
        headers=seeded.bearer("ada"),
    )
    problem = assert_problem(response, 422)
    assert problem["errors"][0]["field"] == "image_alt"


def test_the_document_describes_the_picture_operations(client):
    document = client.get("/api/v1/openapi.json").get_json()
    operations = document["paths"]["/api/v1/items/{item_id}/image"]
    assert operations["put"]["operationId"] == "putItemImage"
    assert operations["delete"]["operationId"] == "deleteItemImage"
    body = operations["put"]["requestBody"]
    assert body["required"] is True
    assert set(body["content"]) == {"image/jpeg", "image/png", "image/webp", "image/gif"}
    assert all(
        c["schema"] == {"type": "string", "format": "binary"} for c in body["content"].values()
    )
    for method in ("put", "delete"):
        statuses = set(operations[method]["responses"])
        assert {"200", "401", "403", "404", "412"} <= statuses
        assert operations[method]["security"] == [{"bearerAuth": []}]
    assert {"413", "415", "422"} <= set(operations["put"]["responses"])
    item = document["components"]["schemas"]["Item"]
    assert {"image", "image_alt"} <= set(item["required"])


def test_the_reference_page_shows_the_picture_body(client):
    page = client.get("/api/v1/docs").text
    start = page.index('<h2 id="put--api-v1-items-item_id-image">')
    section = page[start : page.index("</section>", start)]
    assert section.count("<h3>Request body</h3>") == 1
    assert "without any metadata (GPS positions included)" in section
    for media_type in ("image/jpeg", "image/png", "image/webp", "image/gif"):
        assert f"<code>{media_type}</code>: string (binary)" in section
    assert 'href="#schema-string' not in page
