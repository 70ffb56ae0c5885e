"""``flask export`` / ``flask import``: move a seeded SQLite catalog to another database."""

import base64
import hashlib
import json
import threading

import pytest
from flask_migrate import upgrade
from sqlalchemy import func, insert, select
from support import pictures

import catalog.dump
from catalog.changes import change_item
from catalog.dump import FORMAT, VERSION, header, snapshot, tables, write_dump
from catalog.extensions import db
from catalog.images.processing import process
from catalog.models import (
    ITEM_SEARCH_COLUMN,
    ApiToken,
    Category,
    ImageFile,
    Item,
    User,
    UserSession,
    utcnow,
)
from catalog.search import search_page
from catalog.seed import seed_demo, seed_synthetic

LIMITS = {"max_bytes": 5_000_000, "max_pixels": 40_000_000}
SHARED = process(pictures.solid("JPEG", size=(1600, 1200)), **LIMITS)
CLEAR = process(pictures.solid("PNG", color=(0, 90, 200, 100)), **LIMITS)
PHOTO = process(pictures.camera_jpeg(640, 480), **LIMITS)


@pytest.fixture
def source(make_app, tmp_path):
    """A migrated SQLite catalog with the demo data, synthetic items and an API token."""
    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'source.sqlite'}")
    with app.app_context():
        upgrade()
        seed_demo()
        seed_synthetic(1_500)
        owner = db.session.scalars(select(User).order_by(User.id)).first()
        owner.sessions.append(UserSession(id="a-signed-in-browser"))
        db.session.add(
            ApiToken(
                owner=owner,
                label="laptop",
                token_hash=hashlib.sha256(b"token").hexdigest(),
                last_used=utcnow(),
            )
        )
        # Gaps in the ids must survive the move, not be renumbered.
        db.session.delete(db.session.get(Item, 2))
        # Pictures: one shown by two items, one with transparency, one a camera's JPEG.
        for item_id, picture in ((1, SHARED), (3, SHARED), (4, CLEAR), (5, PHOTO)):
            item = db.session.get(Item, item_id)
            change_item(item, item.version, picture=picture, image_alt=f"Picture {item_id}")
        db.session.commit()
    return app


@pytest.fixture
def dump(source, tmp_path):
    """Export the source catalog; return the dump's path."""
    path = tmp_path / "catalog.jsonl"
    result = source.test_cli_runner().invoke(args=["export", str(path)])
    assert result.exit_code == 0, result.output
    return path


def everything(app) -> dict[str, list[dict]]:
    """Return every row of every table, in primary key order."""
    with app.app_context():
        return {
            table.name: [
                dict(row)
                for row in db.session.execute(
                    select(table).order_by(*table.primary_key.columns)
                ).mappings()
            ]
            for table in tables()
        }


def empty(app) -> bool:
    return not any(everything(app).values())


def test_export_writes_a_versioned_header_then_one_row_per_line(source, dump):
    lines = dump.read_text(encoding="utf-8").splitlines()
    head = json.loads(lines[0])
    assert head["format"] == FORMAT
    assert head["version"] == VERSION
    assert head["database"] == "sqlite"
    assert head["revision"]
    expected = {name: len(rows) for name, rows in everything(source).items()}
    assert head["tables"] == expected
    assert len(lines) == 1 + sum(expected.values())
    first = json.loads(lines[1])
    assert first["table"] == tables()[0].name
    assert first["row"]["created"].endswith("+00:00")


def test_export_to_standard_output(source):
    result = source.test_cli_runner().invoke(args=["export", "-"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.splitlines()[0])["format"] == FORMAT


def test_failed_export_leaves_the_previous_file_alone(source, tmp_path, monkeypatch):
    path = tmp_path / "backup.jsonl"
    path.write_text("yesterday's backup\n", encoding="utf-8")

    def broken(connection, out, head, progress=None):
        out.write("half a dump")
        raise OSError("disk full")

    monkeypatch.setattr(catalog.dump, "write_dump", broken)
    result = source.test_cli_runner().invoke(args=["export", str(path)])
    assert result.exit_code != 0
    assert path.read_text(encoding="utf-8") == "yesterday's backup\n"
    assert not list(tmp_path.glob(".export-*"))


def test_import_keeps_every_row_as_it_was(source, dump, app, runner):
    result = runner.invoke(args=["import", str(dump)])
    assert result.exit_code == 0, result.output
    assert "Imported" in result.stderr
    moved, original = everything(app), everything(source)
    assert moved == original
    assert len(moved["items"]) > 1_500
    assert moved["api_tokens"][0]["label"] == "laptop"
    assert moved["user_sessions"][0]["id"] == "a-signed-in-browser"


def test_inserts_work_after_import(source, dump, app, runner):
    assert runner.invoke(args=["import", str(dump)]).exit_code == 0
    with app.app_context():
        highest = db.session.scalar(select(func.max(Item.id)))
        owner = db.session.scalars(select(User).order_by(User.id)).first()
        category = db.session.scalars(select(Category).order_by(Category.id)).first()
        before = category.item_count
        user = User(issuer="https://id.example.com", subject="new", email="n@example.com", name="N")
        item = Item(category=category, owner=owner, name="Brand New", slug="brand-new")
        db.session.add_all([user, item, Category(name="Fresh", slug="fresh")])
        db.session.commit()
        assert item.id == highest + 1
        assert category.item_count == before + 1


def test_imported_items_can_be_searched_and_exported_again(source, dump, app, runner, tmp_path):
    # On PostgreSQL the search column is computed from the imported rows; a dump never
    # carries it, so a dump from either database loads into the other.
    assert runner.invoke(args=["import", str(dump)]).exit_code == 0
    with app.app_context():
        rows, _, _ = search_page("synthetic", 1, 5)
    assert len(rows) == 5
    again = tmp_path / "again.jsonl"
    assert runner.invoke(args=["export", str(again)]).exit_code == 0
    items = [
        record["row"]
        for record in map(json.loads, again.read_text(encoding="utf-8").splitlines()[1:])
        if record["table"] == "items"
    ]
    assert len(items) > 1_500
    assert all(ITEM_SEARCH_COLUMN not in row for row in items)


@pytest.mark.parametrize(
    "damage",
    ["dangling owner", "truncated", "not json", "unknown column", "bad timestamp"],
)
def test_failing_import_leaves_the_target_untouched(dump, app, runner, damage):
    lines = dump.read_text(encoding="utf-8").splitlines()
    last = json.loads(lines[-1])
    if damage == "dangling owner":
        last["row"]["owner_id"] = 999_999
        lines[-1] = json.dumps(last)
    elif damage == "truncated":
        lines = lines[:-25]
    elif damage == "not json":
        lines[-1] = lines[-1][:-10]
    elif damage == "unknown column":
        last["row"]["colour"] = "red"
        lines[-1] = json.dumps(last)
    else:
        last["row"]["created"] = "yesterday"
        lines[-1] = json.dumps(last)
    dump.write_text("\n".join(lines) + "\n", encoding="utf-8")

    result = runner.invoke(args=["import", str(dump)])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ") or "Error: " in result.stderr
    assert "Traceback" not in result.output
    assert empty(app)


def test_second_import_is_refused_unless_replacing(source, dump, app, runner):
    assert runner.invoke(args=["import", str(dump)]).exit_code == 0
    with app.app_context():
        db.session.execute(insert(Category).values(name="Local", slug="local", created=utcnow()))
        db.session.commit()

    refused = runner.invoke(args=["import", str(dump)])
    assert refused.exit_code == 1
    assert "already holds data" in refused.stderr
    assert "--replace" in refused.stderr
    assert "Local" in [c["name"] for c in everything(app)["categories"]]

    replaced = runner.invoke(args=["import", "--replace", str(dump)])
    assert replaced.exit_code == 0, replaced.output
    assert everything(app) == everything(source)


def test_import_into_a_database_without_schema_says_to_migrate(dump, make_app, empty_database_url):
    target = make_app(SQLALCHEMY_DATABASE_URI=empty_database_url)
    result = target.test_cli_runner().invoke(args=["import", str(dump)])
    assert result.exit_code == 1
    assert "flask db upgrade" in result.stderr


def test_export_of_a_database_without_schema_says_to_migrate(
    make_app, empty_database_url, tmp_path
):
    source = make_app(SQLALCHEMY_DATABASE_URI=empty_database_url)
    path = tmp_path / "catalog.jsonl"
    result = source.test_cli_runner().invoke(args=["export", str(path)])
    assert result.exit_code == 1
    assert "flask db upgrade" in result.stderr
    assert not path.exists()


@pytest.mark.parametrize(
    ("first_line", "message"),
    [
        ("not a dump", "not a Catalog dump"),
        (json.dumps({"format": FORMAT, "version": 99, "tables": {}}), "format version 99"),
        (json.dumps({"format": FORMAT, "version": VERSION, "tables": {"x": 1}}), "(x)"),
    ],
)
def test_files_that_are_not_dumps_are_refused(app, runner, tmp_path, first_line, message):
    path = tmp_path / "other.jsonl"
    path.write_text(first_line + "\n", encoding="utf-8")
    result = runner.invoke(args=["import", str(path)])
    assert result.exit_code == 1
    assert message in result.stderr
    assert empty(app)


def test_export_is_one_consistent_snapshot(app):
    """Rows committed while an export runs stay out of it, so counts and rows agree."""
    with app.app_context():
        seed_demo()

        def add_item_elsewhere(written):
            # Commit from another connection, in another thread, after users are written.
            if not add_item_elsewhere.done:
                add_item_elsewhere.done = True
                thread = threading.Thread(target=commit_an_item, args=(app,))
                thread.start()
                thread.join()

        add_item_elsewhere.done = False
        out = _Lines()
        with snapshot() as connection:
            head = header(connection)
            write_dump(connection, out, head, progress=add_item_elsewhere)
        assert add_item_elsewhere.done
        items = [line for line in out.lines[1:] if json.loads(line)["table"] == "items"]
        assert len(items) == head["tables"]["items"]
        assert db.session.scalar(select(func.count(Item.id))) == len(items) + 1


def commit_an_item(app):
    with app.app_context():
        category = db.session.scalars(select(Category).order_by(Category.id)).first()
        owner = db.session.scalars(select(User).order_by(User.id)).first()
        db.session.add(Item(category=category, owner=owner, name="Late", slug="late"))
        db.session.commit()


class _Lines:
    def __init__(self):
        self.lines = []

    def write(self, text):
        self.lines.extend(text.splitlines())

    def writelines(self, texts):
        for text in texts:
            self.write(text)


def served_files(app) -> dict[str, bytes]:
    """Return every picture file as the app serves it, by URL."""
    with app.app_context():
        names = db.session.execute(select(ImageFile.image_sha256, ImageFile.variant)).all()
    client = app.test_client()
    served = {}
    for sha256, variant in names:
        response = client.get(f"/images/{sha256}-{variant}")
        assert response.status_code == 200
        served[f"{sha256}-{variant}"] = response.data
    return served


def test_pictures_travel_in_the_one_file_as_base64(source, dump):
    lines = [json.loads(line) for line in dump.read_text(encoding="utf-8").splitlines()]
    files = [line["row"] for line in lines[1:] if line["table"] == "image_files"]
    pictures = [line["row"] for line in lines[1:] if line["table"] == "images"]
    assert len(files) == 5 * len(pictures)  # five files each
    assert {SHARED.sha256, CLEAR.sha256, PHOTO.sha256} <= {p["sha256"] for p in pictures}
    full = next(
        f for f in files if f["variant"] == "full.jpg" and f["image_sha256"] == SHARED.sha256
    )
    assert hashlib.sha256(base64.b64decode(full["data"])).hexdigest() == SHARED.sha256
    items = {line["row"]["id"]: line["row"] for line in lines[1:] if line["table"] == "items"}
    assert items[1]["image_sha256"] == items[3]["image_sha256"] == SHARED.sha256
    assert items[5]["image_alt"] == "Picture 5"


def test_an_imported_catalog_serves_every_picture_byte_for_byte(source, dump, app, runner):
    before = served_files(source)
    result = runner.invoke(args=["import", str(dump)])
    assert result.exit_code == 0, result.output
    after = served_files(app)
    assert after == before
    with source.app_context():
        assert len(after) == db.session.scalar(select(func.count()).select_from(ImageFile)) > 15
    for name, data in after.items():
        if "-full." in name:
            assert hashlib.sha256(data).hexdigest() == name.split("-")[0]
    page = app.test_client().get("/catalog/soccer/match-ball/").text
    assert f"/images/{SHARED.sha256}-1200.webp" in page
    assert 'alt="Picture 1"' in page


def test_a_damaged_picture_in_a_dump_changes_nothing(dump, app, runner, tmp_path):
    lines = dump.read_text(encoding="utf-8").splitlines()
    number = next(n for n, line in enumerate(lines) if '"table":"image_files"' in line)
    record = json.loads(lines[number])
    record["row"]["data"] = "not base64!"
    lines[number] = json.dumps(record)
    damaged = tmp_path / "damaged.jsonl"
    damaged.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = runner.invoke(args=["import", str(damaged)])
    assert result.exit_code != 0
    assert f"line {number + 1} is not a row" in result.output
    assert empty(app)
