"""Limits on what a request may carry: body size (413), text lengths down to the database,
and refused changes that leave nothing behind.
"""

import http.client
import json
import re
from urllib.parse import quote, urlencode, urlsplit

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import CheckConstraint, inspect, select, text
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from support.api_data import seed_api_catalog
from support.gunicorn_server import gunicorn
from support.werkzeug_server import serve

from catalog.changes import add_category
from catalog.demo import DEMO_ISSUER
from catalog.extensions import db
from catalog.models import NAME_MAX, Base, Category, Item, User
from catalog.seed import seed_demo

PROBLEM = "application/problem+json"


@pytest.fixture
def seeded(app):
    return seed_api_catalog(app)


def item_row(app, item_id):
    with app.app_context():
        item = db.session.get(Item, item_id)
        return (item.name, item.description, item.category_id, item.version)


# Body size


def test_a_form_over_the_body_limit_is_a_413_page(app, seeded, signed_in):
    ada = signed_in("ada")
    response = ada.post(
        "/catalog/new",
        data={
            "name": "Big",
            "category": str(seeded.categories["soccer"]),
            "description": "x" * 70_000,
        },
    )
    assert response.status_code == 413
    assert response.mimetype == "text/html"
    assert "larger than the 64 KiB this site accepts" in response.text
    with app.app_context():
        assert db.session.scalar(select(Item).where(Item.name == "Big")) is None


def test_the_body_limit_is_a_setting(app, seeded, signed_in):
    app.config["MAX_CONTENT_LENGTH"] = 4096
    ada = signed_in("ada")
    response = ada.post(
        "/catalog/new",
        data={
            "name": "Medium",
            "category": str(seeded.categories["soccer"]),
            "description": "x" * 2_100,
        },
    )
    assert response.status_code == 422  # under 4 KiB: read, and refused by the form's limit
    response = ada.post(
        "/catalog/new",
        data={
            "name": "Medium",
            "category": str(seeded.categories["soccer"]),
            "description": "x" * 5_000,
        },
    )
    assert response.status_code == 413
    assert "larger than the 4 KiB" in response.text


def test_an_api_body_over_the_limit_is_a_413_problem(client, seeded):
    response = client.post(
        "/api/v1/items",
        data=b'{"name": "' + b"x" * 100_000 + b'"}',
        headers={**seeded.bearer("ada"), "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.mimetype == PROBLEM
    assert response.get_json()["status"] == 413


def send_chunked(base_url: str, path: str, body: bytes, headers: dict) -> tuple[int, str, dict]:
    """POST ``body`` with ``Transfer-Encoding: chunked`` (no Content-Length) in 1 KiB chunks.

    Return the status, the media type and the parsed answer.
    """
    address = urlsplit(base_url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
    try:
        chunks = (body[i : i + 1024] for i in range(0, len(body), 1024))
        connection.request(
            "POST",
            path,
            body=chunks,
            headers={**headers, "Content-Type": "application/json"},
            encode_chunked=True,
        )
        response = connection.getresponse()
        answer = response.read()
        media = response.headers.get_content_type()
        return response.status, media, json.loads(answer) if answer else {}
    finally:
        connection.close()


def body_of(size: int, name: str = "Chunked") -> bytes:
    """Return a create's body of exactly ``size`` bytes (its description pads it)."""
    empty = json.dumps({"category": "soccer", "name": name, "description": ""}).encode()
    return empty[:-2] + b"x" * (size - len(empty)) + empty[-2:]


def chunked_answers(base_url: str, seeded) -> dict[str, tuple[int, str, dict]]:
    bearer = seeded.bearer("ada")
    return {
        "small": send_chunked(base_url, "/api/v1/items", body_of(300), bearer),
        # Exactly at the limit: read whole, then refused for its description's length.
        "at the limit": send_chunked(base_url, "/api/v1/items", body_of(16 * 1024), bearer),
        "over the limit": send_chunked(base_url, "/api/v1/items", body_of(17_000), bearer),
    }


def assert_chunked_bodies_are_bounded(answers):
    status, media, item = answers["small"]
    assert (status, media) == (201, "application/json"), item
    assert item["name"] == "Chunked"
    status, media, problem = answers["at the limit"]
    assert (status, media) == (422, PROBLEM), problem
    assert problem["errors"][0]["field"] == "description"
    status, media, problem = answers["over the limit"]
    assert (status, media) == (413, PROBLEM), problem
    assert problem["detail"] == "Send at most 16384 bytes; an item fits in far less."


def test_a_chunked_api_body_over_the_limit_is_a_413_on_werkzeug(app, seeded):
    with serve(app) as base_url:
        answers = chunked_answers(base_url, seeded)
    assert_chunked_bodies_are_bounded(answers)


@pytest.mark.slow
def test_a_chunked_api_body_over_the_limit_is_a_413_under_gunicorn(
    app, seeded, database_url, tmp_path
):
    with gunicorn(tmp_path, database_url) as server:
        answers = chunked_answers(server.url, seeded)
        log = server.log()
    assert_chunked_bodies_are_bounded(answers)
    assert "Traceback" not in log, log


# The request line: every request the document allows fits gunicorn's limit

# gunicorn's limit_request_line (gunicorn.conf.py keeps the default): longer is a 414.
REQUEST_LINE_MAX = 4094
# maxLength counts characters (code points); percent-encoded, one takes up to 4 UTF-8
# bytes of three bytes each ("%F0%9F%8E%89" for U+1F389).
ASTRAL = "\U0001f389"
ENCODED_CHARACTER_MAX = len(quote(ASTRAL))


def longest_value(schema: dict) -> str:
    """Return the longest value ``schema`` allows, as it goes in a URL."""
    if schema["type"] == "integer":
        assert schema["minimum"] >= 0  # so the maximum is the longest
        return str(schema["maximum"])
    return "%" * schema["maxLength"] * ENCODED_CHARACTER_MAX


def longest_request_lines(document: dict) -> dict[str, str]:
    """Return, for each operation, its longest request line the document allows."""
    lines = {}
    for path, operations in document["paths"].items():
        shared = operations.get("parameters", [])
        for method, operation in operations.items():
            if method == "parameters":
                continue
            target = path
            query = []
            for parameter in [*shared, *operation.get("parameters", [])]:
                value = longest_value(parameter["schema"])
                if parameter["in"] == "path":
                    target = target.replace("{" + parameter["name"] + "}", value)
                elif parameter["in"] == "query":
                    query.append(f"{parameter['name']}={value}")
            if query:
                target += "?" + "&".join(query)
            lines[f"{method.upper()} {path}"] = f"{method.upper()} {target} HTTP/1.1"
    return lines


@pytest.mark.backend_independent
def test_every_request_line_the_document_allows_fits_gunicorns_limit(client):
    document = client.get("/api/v1/openapi.json").get_json()
    lines = longest_request_lines(document)
    assert ENCODED_CHARACTER_MAX == 12
    assert set(lines) >= {"GET /api/v1/items", "PATCH /api/v1/items/{item_id}"}
    longest = max(lines, key=lambda operation: len(lines[operation]))
    assert longest == "GET /api/v1/items"
    assert len(lines[longest]) <= REQUEST_LINE_MAX, lines[longest]


@pytest.mark.slow
def test_the_longest_search_reaches_the_app_under_gunicorn(app, seeded, database_url, tmp_path):
    """Sent for real, the longest search is answered by the app, not with gunicorn's 414."""
    target = "/api/v1/items?" + urlencode(
        {"limit": 100, "cursor": "z" * 12, "category": ASTRAL * 100, "q": ASTRAL * 200}
    )
    assert len(f"GET {target} HTTP/1.1") > REQUEST_LINE_MAX - 500
    longer = target.replace("q=", "q=" + quote(ASTRAL), 1)
    with gunicorn(tmp_path, database_url) as server:
        address = urlsplit(server.url)
        answers = []
        for each in (target, longer):
            connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
            connection.request("GET", each)
            response = connection.getresponse()
            answers.append((response.status, response.headers.get_content_type(), response.read()))
            connection.close()
    (status, media, body), (longer_status, longer_media, longer_body) = answers
    assert (status, media) == (404, PROBLEM), body
    assert "There is no category" in json.loads(body)["detail"]
    # One character past q's maxLength: refused by the app itself, as the document says.
    assert (longer_status, longer_media) == (422, PROBLEM), longer_body
    assert json.loads(longer_body)["errors"][0]["field"] == "q"


# Text lengths, enforced by the database itself


@pytest.mark.parametrize(
    ("model", "field", "limit"),
    [
        (Item, "name", NAME_MAX),
        (Item, "description", 2000),
        (Item, "slug", 100),
        (Category, "name", NAME_MAX),
        (Category, "description", 500),
        (User, "name", 200),
    ],
)
def test_the_database_refuses_text_over_its_length(app, model, field, limit):
    """Should anything get past the forms and the API, the database says no itself."""
    with app.app_context():
        owner = User(issuer=DEMO_ISSUER, subject="ada", email="ada@example.com", name="Ada")
        category = add_category("Soccer")
        rows = {
            Item: lambda **kw: Item(
                owner=owner, category=category, **{"name": "n", "slug": "n", **kw}
            ),
            Category: lambda **kw: Category(**{"name": "c", "slug": "c", **kw}),
            User: lambda **kw: User(
                issuer=DEMO_ISSUER, subject="x", email="x@example.com", **{"name": "x", **kw}
            ),
        }
        db.session.add(owner)
        db.session.flush()
        db.session.add(rows[model](**{field: "y" * limit}))
        db.session.flush()  # exactly at the limit: fine
        db.session.rollback()

        db.session.add(owner)
        category = add_category("Soccer")
        db.session.add(rows[model](**{field: "é" * (limit + 1)}))
        # PostgreSQL: VARCHAR(n) raises "value too long"; SQLite: the CHECK constraint.
        with pytest.raises((DataError, IntegrityError)):
            db.session.flush()
        db.session.rollback()


def test_sqlites_length_checks_match_the_models(make_app, tmp_path):
    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'checks.sqlite'}")
    with app.app_context():
        upgrade()
        inspector = inspect(db.engine)
        for table in Base.metadata.sorted_tables:
            declared = {
                c.name: re.sub(r"\s+", "", str(c.sqltext))
                for c in table.constraints
                if isinstance(c, CheckConstraint)
            }
            found = {
                c["name"]: re.sub(r"\s+", "", c["sqltext"])
                for c in inspector.get_check_constraints(table.name)
            }
            assert found == declared, table.name
            lengths = {c.name for c in table.columns if getattr(c.type, "length", None)}
            assert {f"ck_{table.name}_{n}_length" for n in lengths} == set(declared)


def test_postgresql_has_no_extra_checks(app):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite's checks are tested above")
        inspector = inspect(db.engine)
        for table in Base.metadata.sorted_tables:
            assert inspector.get_check_constraints(table.name) == [], table.name


def sqlite_at_0003(make_app, tmp_path):
    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'old.sqlite'}")
    with app.app_context():
        # Seeded through today's models, then taken back: the rows stay, the schema is 0003's.
        upgrade()
        seed_demo()
        downgrade(revision="0003")
    return app


def everything(app) -> dict:
    with app.app_context():
        return {
            name: db.session.execute(text(f"SELECT * FROM {name} ORDER BY 1")).all()
            for name in ("users", "categories", "items", "api_tokens", "user_sessions")
        }


def test_0004_upgrades_a_populated_sqlite_database_and_back(make_app, tmp_path):
    """Rebuilding tables that others refer to must keep every row and every reference."""
    app = sqlite_at_0003(make_app, tmp_path)
    before = everything(app)
    assert before["items"]
    with app.app_context():
        upgrade(revision="0004")
    assert everything(app) == before
    with app.app_context():
        assert db.session.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert db.session.execute(text("PRAGMA foreign_key_check")).all() == []
        # The rebuilt tables still enforce their foreign keys.
        with pytest.raises(IntegrityError):
            db.session.execute(text("UPDATE items SET category_id = 999999"))
        db.session.rollback()
        downgrade(revision="0003")
    assert everything(app) == before


def test_0004_refuses_rows_already_too_long_with_a_message(make_app, tmp_path, capsys):
    app = sqlite_at_0003(make_app, tmp_path)
    with app.app_context():
        db.session.execute(text("UPDATE items SET name = :long WHERE id = 1"), {"long": "z" * 81})
        db.session.commit()
        with pytest.raises(SystemExit):  # as `flask db upgrade` stops, with the message
            upgrade()
        # Alembic's logging configuration prints it to standard error.
        assert (
            "Error: 1 row(s) of items have a name longer than 80 characters: "
            "shorten them, then upgrade again"
        ) in capsys.readouterr().err
        # Nothing was rebuilt or lost: the upgrade can run once the row is fixed.
        db.session.execute(text("UPDATE items SET name = 'Fixed' WHERE id = 1"))
        db.session.commit()
        try:
            upgrade()
        except OperationalError as exc:  # SQLite commits DDL as it goes: the new table exists
            pytest.fail(f"the upgrade did not run again after the fix: {exc}")
        assert db.session.scalar(select(Item.name).where(Item.id == 1)) == "Fixed"


# Refused changes are never half-applied


def test_a_patch_with_one_bad_field_changes_nothing(app, client, seeded):
    item_id = seeded.items["ball"]
    before = item_row(app, item_id)
    response = client.patch(
        f"/api/v1/items/{item_id}",
        json={"name": "Renamed", "description": "bad\x00text"},
        headers=seeded.bearer("ada"),
    )
    assert response.status_code == 422
    assert item_row(app, item_id) == before


def test_a_patch_the_database_refuses_changes_nothing(app, client, seeded):
    """The name collides only when flushed; the description must not be saved either."""
    item_id = seeded.items["stick"]
    before = item_row(app, item_id)
    response = client.patch(
        f"/api/v1/items/{item_id}",
        json={"name": "Match Ball", "category": "soccer", "description": "Moved."},
        headers=seeded.bearer("sam"),
    )
    assert response.status_code == 409
    assert item_row(app, item_id) == before


def test_a_form_with_one_bad_field_changes_nothing(app, seeded, signed_in):
    item_id = seeded.items["ball"]
    before = item_row(app, item_id)
    response = signed_in("ada").post(
        "/catalog/soccer/match-ball/edit",
        data={
            "name": "Renamed",
            "category": str(seeded.categories["soccer"]),
            "description": "x" * 2001,
            "version": "1",
        },
    )
    assert response.status_code == 422
    assert item_row(app, item_id) == before


# Pages take web forms, not JSON


@pytest.mark.parametrize("body", ["0", "[1, 2]", '{"name": {"nested": ["x"]}}', '{"name": "Flag"}'])
@pytest.mark.parametrize(
    "path", ["/catalog/new", "/categories/new", "/account/tokens", "/login/dev", "/logout"]
)
def test_a_json_body_sent_to_a_page_is_415(app, seeded, signed_in, path, body):
    app.config["CATALOG_ADMINS"] = frozenset({"lena@example.com"})
    client = signed_in("lena")
    before = everything_now(app)
    response = client.post(path, data=body, content_type="application/json")
    assert response.status_code == 415
    assert response.mimetype == "text/html"
    assert "JSON API under /api/v1" in response.text
    assert everything_now(app) == before


@pytest.mark.backend_independent
def test_json_with_a_valid_csrf_header_is_refused_too(make_app, database_url, signed_in):
    """With CSRF on, a program holding a session's token still cannot post JSON to a form."""
    app = make_app(SQLALCHEMY_DATABASE_URI=database_url, WTF_CSRF_ENABLED=True)
    client = app.test_client()
    page = client.get("/login")
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page.text)
    assert token
    response = client.post(
        "/login/dev", data="0", content_type="application/json", headers={"X-CSRFToken": token[1]}
    )
    assert response.status_code == 415


def everything_now(app) -> dict:
    with app.app_context():
        return {
            table.name: db.session.execute(select(table)).all()
            for table in Base.metadata.sorted_tables
        }
