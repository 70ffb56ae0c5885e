"""Pictures through the add and edit forms: upload, replace, remove, refuse, and who may."""

import io
import re
import time

import pytest
from sqlalchemy import func, select
from support import pictures
from support.api_data import seed_api_catalog
from support.sign_in import AuthActions

from catalog import create_app
from catalog.config import ConfigError
from catalog.extensions import db
from catalog.models import Image, ImageFile, Item

EDIT = "/catalog/soccer/match-ball/edit"
ITEM = "/catalog/soccer/match-ball/"


@pytest.fixture
def seeded(app):
    return seed_api_catalog(app)


@pytest.fixture
def guarded(app):
    """An app that checks CSRF tokens, as in production, with the API's small catalog.

    Returns the app and a function giving a client signed in as a demo user.
    """
    app.config["WTF_CSRF_ENABLED"] = True
    seed_api_catalog(app)

    def sign_in(subject: str):
        client = app.test_client()
        assert AuthActions(client).login(subject).status_code == 302
        return client

    return app, sign_in


def as_file(data: bytes, name: str = "photo.jpg"):
    return (io.BytesIO(data), name)


def ball(app) -> Item:
    with app.app_context():
        item = db.session.scalar(select(Item).where(Item.slug == "match-ball"))
        db.session.expunge(item)
        return item


def stored(app) -> tuple[int, int]:
    with app.app_context():
        return (
            db.session.scalar(select(func.count()).select_from(Image)),
            db.session.scalar(select(func.count()).select_from(ImageFile)),
        )


def edit(client, app, *, picture=None, **fields):
    """Post the edit form as the browser would: every field, and the file if any."""
    item = ball(app)
    data = {
        "name": item.name,
        "category": str(item.category_id),
        "description": item.description,
        "image_alt": item.image_alt,
        "version": str(item.version),
        **fields,
    }
    if picture is not None:
        data["picture"] = picture
    return client.post(EDIT, data=data, content_type="multipart/form-data")


def shown_picture(page: str) -> re.Match | None:
    return re.search(
        r'<picture class="display"><source type="image/webp" srcset="(/images/[0-9a-f]{64}'
        r'-1200\.webp)"><img src="(/images/[0-9a-f]{64}-1200\.jpg)" width="(\d+)" '
        r'height="(\d+)" alt="([^"]*)"',
        page,
    )


def test_the_forms_take_files_without_javascript(seeded, signed_in):
    ada = signed_in("ada")
    for url in ("/catalog/new", EDIT):
        page = ada.get(url).text
        assert '<form method="post" class="card" enctype="multipart/form-data">' in page
        assert re.search(
            r'<input accept="image/jpeg,image/png,image/webp,image/gif"[^>]*'
            r'type="file"',
            page,
        )
        assert '<label for="image_alt">Describe the picture</label>' in page


def test_add_an_item_with_a_picture(app, seeded, signed_in):
    ada = signed_in("ada")
    response = ada.post(
        "/catalog/new",
        data={
            "name": "Corner Flag",
            "category": str(seeded.categories["soccer"]),
            "description": "Orange.",
            "image_alt": "An orange flag on a white pole",
            "picture": as_file(pictures.solid("JPEG", size=(1600, 1200)), "flag.jpeg"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    page = ada.get(response.headers["Location"]).text
    found = shown_picture(page)
    assert found, page
    assert found.group(3, 4, 5) == ("1200", "900", "An orange flag on a white pole")
    assert ada.get(found.group(1)).mimetype == "image/webp"
    assert ada.get(found.group(2)).mimetype == "image/jpeg"
    assert stored(app) == (1, 5)


def test_replace_then_remove_the_picture(app, seeded, signed_in):
    ada = signed_in("ada")
    assert (
        edit(ada, app, picture=as_file(pictures.solid("PNG", color=(255, 0, 0)))).status_code == 302
    )
    first = shown_picture(ada.get(ITEM).text)
    assert first.group(5) == "Match Ball"  # no alt text written: the name stands for it
    version = ball(app).version

    assert (
        edit(ada, app, picture=as_file(pictures.solid("PNG", color=(0, 0, 255)))).status_code == 302
    )
    second = shown_picture(ada.get(ITEM).text)
    assert second.group(1) != first.group(1)
    assert ball(app).version == version + 1
    assert stored(app) == (1, 5)  # the red one went with its last user
    assert ada.get(first.group(1)).status_code == 404

    form = ada.get(EDIT).text
    assert second.group(1).replace("1200", "200") in form  # the current picture, previewed
    assert 'id="remove_picture"' in form
    assert edit(ada, app, remove_picture="y").status_code == 302
    page = ada.get(ITEM).text
    assert shown_picture(page) is None
    assert '<div class="display display-empty"><span>No picture</span></div>' in page
    assert stored(app) == (0, 0)
    assert ball(app).version == version + 2


def test_a_new_picture_and_remove_together_is_refused(app, seeded, signed_in):
    ada = signed_in("ada")
    edit(ada, app, picture=as_file(pictures.solid("PNG")))
    response = edit(ada, app, picture=as_file(pictures.solid("JPEG")), remove_picture="y")
    assert response.status_code == 422
    assert "Choose a new picture or remove the picture, not both." in response.text


@pytest.mark.parametrize(
    ("data", "name", "status", "message"),
    [
        (pictures.HTML, "photo.jpg", 415, "not a JPEG, PNG, WebP or GIF picture"),
        (pictures.SVG, "drawing.svg", 415, "not a JPEG, PNG, WebP or GIF picture"),
        (pictures.solid("JPEG", size=(400, 300))[:900], "cut.jpg", 422, "damaged or incomplete"),
        (pictures.png_claiming(100_000, 100_000), "bomb.png", 413, "megapixels"),
    ],
    ids=["html-named-jpg", "svg", "truncated-jpeg", "bomb"],
)
def test_a_bad_file_is_refused_on_the_form_and_the_text_kept(
    app, seeded, signed_in, data, name, status, message
):
    ada = signed_in("ada")
    response = edit(ada, app, picture=as_file(data, name), description="Kept, as typed.")
    assert response.status_code == status
    assert message in response.text
    assert 'id="picture-error"' in response.text
    assert "Kept, as typed." in response.text
    assert ball(app).version == 1
    assert stored(app) == (0, 0)


def test_a_picture_over_the_byte_limit_is_a_413_form_error(app, seeded, signed_in):
    app.config["IMAGE_MAX_BYTES"] = 100_000
    data = pictures.noisy_png((200, 200))
    assert 100_000 < len(data) < 100_000 + app.config["MAX_CONTENT_LENGTH"]
    response = edit(signed_in("ada"), app, picture=as_file(data), description="Still here.")
    assert response.status_code == 413
    assert "the largest accepted is 0.1 MB" in response.text
    assert "Still here." in response.text
    assert stored(app) == (0, 0)


class Unread(io.RawIOBase):
    """A request body of ``length`` bytes that fails the test if anything reads it."""

    def __init__(self, length: int):
        self.length, self.position = length, 0

    def readable(self):
        return True

    def seekable(self):
        return True

    def seek(self, offset, whence=io.SEEK_SET):
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.length}[whence]
        self.position = base + offset
        return self.position

    def tell(self):
        return self.position

    def readinto(self, buffer):
        raise AssertionError("the body was read")


@pytest.mark.parametrize("url", ["/catalog/new", EDIT])
def test_an_upload_over_the_limit_is_refused_without_reading_it(guarded, url):
    app, signed_in = guarded
    started = time.perf_counter()
    response = signed_in("ada").post(
        url,
        input_stream=Unread(50_000_000),
        content_type="multipart/form-data; boundary=x",
    )
    assert time.perf_counter() - started < 1
    assert response.status_code == 413
    # The form again, the picture refused: how large it was, and the limit.
    assert "This upload is 50 MB; the largest picture accepted is 5 MB." in response.text
    assert 'id="picture-error"' in response.text
    assert 'enctype="multipart/form-data"' in response.text
    assert stored(app) == (0, 0)


def test_an_upload_over_the_limit_from_someone_else_gets_the_plain_413(guarded):
    app, signed_in = guarded
    response = signed_in("sam").post(
        EDIT,
        input_stream=Unread(50_000_000),
        content_type="multipart/form-data; boundary=x",
    )
    assert response.status_code == 413
    assert "Match Ball" not in response.text  # nothing of the item shown to whoever cannot edit


def test_other_routes_keep_the_small_limit(app, seeded, signed_in):
    big = {"name": "Flag", "description": "x" * 100_000}
    response = signed_in("lena").post(
        "/categories/new", data=big, content_type="multipart/form-data"
    )
    assert response.status_code == 413
    assert "larger than the 64 KiB this site accepts" in response.text
    # Not multipart, nothing to upload: the item form's limit is not raised either.
    form = {"name": "Flag", "category": str(seeded.categories["soccer"]), **big}
    response = signed_in("ada").post("/catalog/new", data=form)
    assert response.status_code == 413


def test_the_text_fields_keep_their_limit_beside_a_picture(app, seeded, signed_in):
    response = edit(signed_in("ada"), app, description="x" * 100_000)
    assert response.status_code == 413
    assert "larger than the 64 KiB this site accepts" in response.text


def test_a_stale_edit_with_a_picture_stores_nothing(app, seeded, signed_in):
    ada = signed_in("ada")
    stale = ball(app).version
    assert edit(ada, app, description="Someone else's.").status_code == 302
    response = edit(
        ada, app, picture=as_file(pictures.solid("JPEG")), version=str(stale), description="Mine."
    )
    assert response.status_code == 409
    assert "The picture you chose was not saved either" in response.text
    assert 'enctype="multipart/form-data"' in response.text
    assert stored(app) == (0, 0)


def test_the_conflict_page_shows_the_saved_picture_and_no_other(app, seeded, signed_in):
    ada = signed_in("ada")
    stale = ball(app).version
    conflict = edit(ada, app, version=str(stale), description="Mine.")
    assert conflict.status_code == 302  # not stale yet
    # Other text than was saved (the same would only be the form sent again).
    conflict = edit(ada, app, version=str(stale), description="Mine, again.")
    assert conflict.status_code == 409
    assert "<img" not in conflict.text  # the saved version has no picture
    assert edit(ada, app, picture=as_file(pictures.solid("PNG"))).status_code == 302
    sha = ball(app).image_sha256
    conflict = edit(ada, app, version=str(stale), description="Mine, once more.")
    assert conflict.status_code == 409
    assert conflict.text.count(f'src="/images/{sha}-200.jpg"') == 2  # saved version; form
    assert 'src=""' not in conflict.text


def test_a_form_with_other_errors_asks_for_the_picture_again(app, seeded, signed_in):
    response = edit(signed_in("ada"), app, picture=as_file(pictures.solid("JPEG")), name="")
    assert response.status_code == 422
    assert "Choose the picture again" in response.text
    assert stored(app) == (0, 0)


@pytest.mark.parametrize(
    ("who", "status"),
    [("anonymous", 302), ("owner", 302), ("other", 403), ("admin", 302)],
)
def test_who_may_change_the_picture_on_the_form(app, client, seeded, signed_in, who, status):
    subject = {"owner": "ada", "other": "sam", "admin": "lena"}.get(who)
    browser = signed_in(subject) if subject else client
    response = edit(browser, app, picture=as_file(pictures.solid("PNG")))
    assert response.status_code == status
    if who == "anonymous":
        assert "/login" in response.headers["Location"]
    changed = who in ("owner", "admin")
    assert (ball(app).image_sha256 is not None) == changed
    assert stored(app) == ((1, 5) if changed else (0, 0))


def test_with_csrf_on_a_picture_larger_than_the_usual_limit_goes_through(guarded):
    app, signed_in = guarded
    client = signed_in("ada")
    form = client.get(EDIT).text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
    data = pictures.noisy_png((200, 200))
    assert len(data) > app.config["MAX_CONTENT_LENGTH"]
    response = edit(client, app, picture=as_file(data), csrf_token=token)
    assert response.status_code == 302, response.text
    assert ball(app).image_sha256 is not None


@pytest.mark.parametrize(
    ("name", "value"),
    [("IMAGE_MAX_BYTES", "100"), ("IMAGE_MAX_PIXELS", "lots"), ("IMAGE_MAX_PIXELS", "90000000")],
)
def test_bad_picture_limits_stop_start_up_in_one_line(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        create_app({"TESTING": True})
    assert str(info.value).startswith(name)
    assert "\n" not in str(info.value)


def test_picture_limits_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("IMAGE_MAX_BYTES", "2000000")
    monkeypatch.setenv("IMAGE_MAX_PIXELS", "1000000")
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert (app.config["IMAGE_MAX_BYTES"], app.config["IMAGE_MAX_PIXELS"]) == (2_000_000, 1_000_000)
