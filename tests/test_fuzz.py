"""Property-based fuzzing (Hypothesis) of every form and API write, on each database.

Each example sends one write with random content: text of any script with control
characters and odd whitespace, values far past every limit, fields missing and
fields nobody asked for, bodies as raw bytes in the wrong encoding and under the
wrong content type. Whatever comes in, the answer is never a 5xx, and when the
answer refuses it (4xx), the database is exactly as it was.

Example counts are modest so that the suite stays fast; CATALOG_FUZZ_PROFILE=deep
runs many more (``CATALOG_FUZZ_PROFILE=deep .venv/bin/pytest tests/test_fuzz.py``).
"""

import io
import json
import os
import string
from dataclasses import dataclass
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text
from support import pictures

from catalog.changes import add_category, add_item
from catalog.demo import DEMO_ISSUER
from catalog.extensions import db
from catalog.models import ApiToken, Base, Category, Item, User
from catalog.tokens import issue_token

settings.register_profile(
    "quick",
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.register_profile("deep", settings.get_profile("quick"), max_examples=500)
FUZZ = settings(settings.get_profile(os.environ.get("CATALOG_FUZZ_PROFILE", "quick")))

# Form writes: who sends them, where, and the fields the form has.
FORMS = {
    "manage.add_item": (
        "ada",
        "/catalog/new",
        ("name", "category", "description", "image_alt", "picture"),
    ),
    "manage.edit_item": (
        "ada",
        "/catalog/soccer/match-ball/edit",
        ("name", "category", "description", "version", "image_alt", "picture", "remove_picture"),
    ),
    "manage.delete_item": ("ada", "/catalog/soccer/match-ball/delete", ("version",)),
    "manage.add_category": ("lena", "/categories/new", ("name", "description")),
    "manage.edit_category": ("lena", "/categories/hockey/edit", ("name", "description")),
    "manage.delete_category": ("lena", "/categories/hockey/delete", ()),
    "tokens.create": ("ada", "/account/tokens", ("label",)),
    "tokens.revoke": ("ada", "/account/tokens/{token}/revoke", ()),
    "auth.dev_login": (None, "/login/dev", ("subject", "next")),
    "auth.logout": ("ada", "/logout", ()),
    "auth.sign_out_everywhere": ("ada", "/account/sign-out-everywhere", ()),
}
# API writes: method, path, and the body's fields.
API = {
    "api.create_item": ("POST", "/api/v1/items", ("category", "name", "description")),
    "api.item PATCH": ("PATCH", "/api/v1/items/{ball}", ("category", "name", "description")),
    "api.item DELETE": ("DELETE", "/api/v1/items/{ball}", ()),
    # The picture's body is a file, not fields (``picture_requests``).
    "api.item_image PUT": ("PUT", "/api/v1/items/{ball}/image", ("picture",)),
    "api.item_image DELETE": ("DELETE", "/api/v1/items/{ball}/image", ()),
}

# Text: any script, control characters, odd spaces, markup, and sizes past every limit
# (a form body over 64 KiB, an API body over 16 KiB, is refused before it is read).
EDGE_TEXT = [
    "",
    " ",
    "\x00",
    "nul\x00inside",
    "\r\n",
    "\t",
    "\x1b[31mred",
    "\x85",
    "\u2028",
    "\ufeff",
    "\ufffe",
    "<script>alert(1)</script>",
    "Ω≈ç√∫˜µ≤≥÷",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 🎉👍🏽",
    "٣",
    "9" * 400,
    "../../etc/passwd",
    "' OR 1=1 --",
    "%00",
]
TEXT = st.one_of(
    st.text(max_size=120),
    st.sampled_from(EDGE_TEXT),
    st.integers(0, 120_000).map(lambda n: "é" * n),
)
FIELD_NAMES = st.text(alphabet=string.ascii_letters + "_-[].", min_size=1, max_size=20)
PLAUSIBLE = {
    "category": st.sampled_from(["{soccer}", "{hockey}", "soccer", "hockey"]),
    "version": st.sampled_from(["1", "2", "0", "-1", "1.0", "99999999999999999999"]),
    "subject": st.sampled_from(["ada", "sam", "lena"]),
    "next": st.sampled_from(["/", "//evil.example", "/catalog/soccer/"]),
    "name": st.sampled_from(["Match Ball", "Stick", "Shin Guards", " Padded "]),
}
CONTENT_TYPES = st.sampled_from(
    [
        "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded; charset=latin-1",
        "multipart/form-data; boundary=xyz",
        "multipart/form-data",
        "application/json",
        "application/json; charset=utf-16",
        "application/merge-patch+json",
        "text/plain",
        "application/octet-stream",
        "",
    ]
)
# Files sent as pictures: real ones, damaged ones, hostile ones, and noise.
PICTURE_FILES = st.one_of(
    st.sampled_from(
        [
            pictures.solid("JPEG"),
            pictures.solid("PNG", color=(0, 0, 255, 128)),
            pictures.solid("GIF"),
            pictures.solid("WEBP"),
            pictures.animated_gif(frames=5),
            pictures.solid("JPEG", size=(300, 200))[:500],
            pictures.png_claiming(100_000, 100_000),
            pictures.solid("JPEG", comment=pictures.HTML),
            pictures.SVG,
            pictures.HTML,
            b"",
        ]
    ),
    st.binary(max_size=2000),
)
PICTURE_TYPES = st.sampled_from(["image/jpeg", "image/png", "image/webp", "image/gif"])
# Header values travel as Latin-1.
HEADER_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=300)


def field_value(name: str):
    if name == "picture":
        return st.tuples(PICTURE_FILES, st.sampled_from(["a.jpg", "b.png", "c.svg", ""])).map(
            lambda file: (io.BytesIO(file[0]), file[1])
        )
    plausible = PLAUSIBLE.get(name)
    return st.one_of(plausible, TEXT) if plausible is not None else TEXT


@st.composite
def fields(draw, names: tuple[str, ...], values=field_value):
    """Draw some of ``names`` (each present three times in four) and a few extra fields."""
    chosen = {name: draw(values(name)) for name in names if draw(st.integers(0, 3))}
    extra = draw(st.dictionaries(FIELD_NAMES, TEXT, max_size=3))
    return {**extra, **chosen}


@st.composite
def form_requests(draw, names):
    """Draw the keyword arguments of a test client's ``post`` for a form."""
    data = draw(fields(names))
    how = draw(st.sampled_from(["urlencoded", "multipart", "latin-1", "json", "bytes"]))
    if how != "multipart":
        # A file travels in a multipart form only.
        data = {k: v for k, v in data.items() if not isinstance(v, tuple)}
    if how == "urlencoded":
        return {"data": data}
    if how == "multipart":
        return {"data": data, "content_type": "multipart/form-data"}
    if how == "latin-1":
        body = urlencode(data, encoding="latin-1", errors="replace")
        return {"data": body, "content_type": "application/x-www-form-urlencoded"}
    if how == "json":
        return {"json": data}
    return {"data": draw(st.binary(max_size=2000)), "content_type": draw(CONTENT_TYPES)}


JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    TEXT,
    # Lone surrogates: valid in a JSON escape, not in Unicode.
    st.text(st.characters(categories=["Cs"]), min_size=1, max_size=3),
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=5,
)


def json_value(name: str):
    plausible = PLAUSIBLE.get(name)
    return st.one_of(plausible, JSON_VALUES) if plausible is not None else JSON_VALUES


@st.composite
def api_requests(draw, names):
    """Draw a body, content type and headers for an API write."""
    how = draw(st.sampled_from(["object", "object", "object", "not an object", "bytes"]))
    if how == "bytes":
        body = draw(st.binary(max_size=2000))
    else:
        document = draw(fields(names, json_value)) if how == "object" else draw(JSON_VALUES)
        escaped = draw(st.booleans())
        body = json.dumps(document, ensure_ascii=escaped).encode("utf-8", "surrogatepass")
    headers = {
        "Content-Type": draw(st.one_of(st.just("application/json"), CONTENT_TYPES)),
        "Authorization": draw(
            st.sampled_from(["Bearer {ada}", "Bearer {ada}", "Bearer cat_unknown", "Basic eA=="])
        ),
    }
    for header in ("Idempotency-Key", "If-Match"):
        value = draw(
            st.one_of(st.none(), st.just('"item-{ball}-v1"'), st.uuids().map(str), HEADER_TEXT)
        )
        if value is not None:
            headers[header] = value
    return body, headers


@st.composite
def picture_requests(draw, names):
    """Draw a body, content type and headers for sending a picture to the API."""
    body, headers = draw(api_requests(()))
    if draw(st.integers(0, 3)):
        body = draw(PICTURE_FILES)
        headers["Content-Type"] = draw(st.one_of(PICTURE_TYPES, CONTENT_TYPES))
    return body, headers


@dataclass
class World:
    """The rows every example starts from; placeholders in requests name them."""

    values: dict[str, str]

    def fill(self, value):
        if isinstance(value, str):
            for name, actual in self.values.items():
                value = value.replace("{" + name + "}", actual)
            return value
        if isinstance(value, dict):
            return {self.fill(k): self.fill(v) for k, v in value.items()}
        if isinstance(value, bytes):
            for name, actual in self.values.items():
                value = value.replace(b"{" + name.encode() + b"}", actual.encode())
            return value
        return value


def reset(app) -> World:
    """Empty every table and seed the world again: users, two categories, two items, tokens."""
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            names = ", ".join(t.name for t in Base.metadata.sorted_tables)
            db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(Base.metadata.sorted_tables):
                db.session.execute(table.delete())
        people = {
            subject: User(
                issuer=DEMO_ISSUER, subject=subject, email=f"{subject}@example.com", name=name
            )
            for subject, name in (("ada", "Ada"), ("sam", "Sam"), ("lena", "Lena"))
        }
        db.session.add_all(people.values())
        soccer = add_category("Soccer")
        hockey = add_category("Hockey")
        ball = add_item(people["ada"], soccer, "Match Ball", "Size 5.")
        add_item(people["sam"], hockey, "Stick")
        token, secret = issue_token(people["ada"], "fuzz")
        db.session.commit()
        return World(
            {
                "soccer": str(soccer.id),
                "hockey": str(hockey.id),
                "ball": str(ball.id),
                "token": str(token.id),
                "ada": secret,
            }
        )


def snapshot(app) -> dict:
    """Return every row of every table."""
    with app.app_context():
        return {
            table.name: db.session.execute(select(table).order_by(*table.primary_key.columns)).all()
            for table in Base.metadata.sorted_tables
        }


@pytest.fixture
def fuzzed(app):
    """The app with limits out of the way, and a way to get a fresh world per example."""
    app.config["RATELIMIT_WRITES"] = "1000000 per minute"
    app.config["RATELIMIT_SIGN_IN"] = "1000000 per minute"
    app.config["CATALOG_ADMINS"] = frozenset({"lena@example.com"})
    state = {"world": reset(app), "dirty": False}

    def world() -> World:
        if state["dirty"]:
            state["world"], state["dirty"] = reset(app), False
        return state["world"]

    def changed():
        state["dirty"] = True

    return app, world, changed


def examples(names: tuple[str, ...]) -> int:
    """Return how many examples to try: fewer for a button, whose only input is the body."""
    return FUZZ.max_examples if names else max(5, FUZZ.max_examples // 3)


def check(app, response, before, changed) -> None:
    """Never a 5xx; a refusal leaves the database as it was."""
    event(f"status {response.status_code}")  # --hypothesis-show-statistics lists them
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    if 400 <= response.status_code < 500:
        assert snapshot(app) == before, (
            response.status_code,
            response.get_data(as_text=True)[:300],
        )
    else:
        changed()


@pytest.mark.parametrize("endpoint", sorted(FORMS))
def test_form_writes_never_fail_and_refusals_change_nothing(fuzzed, signed_in, endpoint):
    app, world, changed = fuzzed
    who, path, names = FORMS[endpoint]

    @settings(FUZZ, max_examples=examples(names))
    @given(request=form_requests(names))
    def send(request):
        current = world()
        client = signed_in(who) if who else app.test_client()
        before = snapshot(app)
        response = client.post(current.fill(path), **current.fill(request))
        check(app, response, before, changed)

    send()


@pytest.mark.parametrize("endpoint", sorted(API))
def test_api_writes_never_fail_and_refusals_change_nothing(fuzzed, endpoint):
    app, world, changed = fuzzed
    method, path, names = API[endpoint]

    requests = picture_requests if "picture" in names else api_requests

    @settings(FUZZ, max_examples=examples(names))
    @given(request=requests(names))
    def send(request):
        body, headers = request
        current = world()
        before = snapshot(app)
        response = app.test_client().open(
            current.fill(path),
            method=method,
            data=current.fill(body),
            headers=current.fill(headers),
        )
        check(app, response, before, changed)

    send()


@pytest.mark.backend_independent
def test_every_write_route_is_fuzzed(app):
    """A new write route fails this test until it is added above."""
    writes = set()
    for rule in app.url_map.iter_rules():
        methods = rule.methods & {"POST", "PUT", "PATCH", "DELETE"}
        if rule.endpoint in ("api.item", "api.item_image"):
            writes |= {f"{rule.endpoint} {method}" for method in methods}
        elif methods:
            writes.add(rule.endpoint)
    assert writes == set(FORMS) | set(API)


def test_the_world_is_what_the_paths_expect(fuzzed, signed_in):
    """The fuzzed paths exist, so refusals come from checking input, not from a 404."""
    app, world, _ = fuzzed
    current = world()
    assert signed_in("ada").get("/catalog/soccer/match-ball/edit").status_code == 200
    assert signed_in("lena").get("/categories/hockey/edit").status_code == 200
    assert app.test_client().get(current.fill("/api/v1/items/{ball}")).status_code == 200
    with app.app_context():
        assert db.session.get(ApiToken, int(current.values["token"])) is not None
        assert db.session.scalar(
            select(Item.name).join(Item.category).where(Category.slug == "hockey")
        )
