"""The JSON API: reads, writes with tokens, problem+json errors, the OpenAPI document."""

import json
import re

import pytest
from sqlalchemy import select
from support.api_data import seed_api_catalog

from catalog.extensions import db
from catalog.models import Category, Item

PROBLEM = "application/problem+json"


@pytest.fixture
def seeded(app):
    return seed_api_catalog(app)


def item_url(item_id):
    return f"/api/v1/items/{item_id}"


def assert_problem(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    problem = response.get_json(force=True)
    assert problem["status"] == status
    assert problem["type"] == "about:blank"
    assert problem["title"]
    assert problem["detail"]
    return problem


def test_categories_with_item_counts(client, seeded):
    response = client.get("/api/v1/categories")
    assert response.status_code == 200
    categories = response.get_json()["categories"]
    assert [c["name"] for c in categories] == ["Hockey", "Soccer"]
    soccer = categories[1]
    assert soccer["item_count"] == 1
    assert soccer["slug"] == "soccer"
    assert soccer["url"] == "http://localhost/catalog/soccer/"
    assert soccer["items_url"] == "http://localhost/api/v1/items?category=soccer"


def test_one_item_carries_what_its_page_shows(client, seeded):
    response = client.get(item_url(seeded.items["stick"]))
    assert response.status_code == 200
    item = response.get_json()
    assert item["name"] == "Stick"
    assert item["description"] == "Carbon shaft.\nLeft-handed."
    assert item["category"] == {"slug": "hockey", "name": "Hockey"}
    assert item["owner"] == {"id": seeded.users["sam"], "name": "Sam Okafor"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+\+00:00", item["created"])
    assert item["version"] == 1
    assert item["url"] == "http://localhost/catalog/hockey/stick/"
    assert item["api_url"] == f"http://localhost/api/v1/items/{item['id']}"
    # Its version, then the catalog's state (which its category's and owner's names follow).
    assert re.fullmatch(rf'"item-{item["id"]}-v1\.[0-9a-f]{{32}}"', response.headers["ETag"])


def test_items_filter_by_category_and_words(client, seeded):
    hockey = client.get("/api/v1/items?category=hockey").get_json()["items"]
    assert [i["name"] for i in hockey] == ["Stick"]
    found = client.get("/api/v1/items?q=thermally").get_json()["items"]
    assert [i["name"] for i in found] == ["Match Ball"]
    assert client.get("/api/v1/items?q=nothing-like-it").get_json()["items"] == []


def test_unknown_category_filter_is_404(client, seeded):
    problem = assert_problem(client.get("/api/v1/items?category=curling"), 404)
    assert "curling" in problem["detail"]


def test_unknown_item_is_404_problem(client, seeded):
    problem = assert_problem(client.get(item_url(999999)), 404)
    assert "999999" in problem["detail"]


def test_unknown_api_path_is_problem_but_pages_stay_html(client, seeded):
    assert_problem(client.get("/api/v1/nothing"), 404)
    page = client.get("/catalog/nothing/")
    assert page.status_code == 404
    assert page.mimetype == "text/html"


@pytest.mark.backend_independent
def test_wrong_method_is_405_problem_with_allow(client, seeded):
    response = client.put(item_url(seeded.items["ball"]), json={})
    assert_problem(response, 405)
    assert "PATCH" in response.headers["Allow"]


def test_create_answers_201_with_location_and_etag(client, seeded):
    response = client.post(
        "/api/v1/items",
        json={"category": "soccer", "name": "  Corner Flag ", "description": "Orange."},
        headers=seeded.bearer("sam"),
    )
    assert response.status_code == 201
    item = response.get_json()
    assert item["name"] == "Corner Flag"
    assert item["slug"] == "corner-flag"
    assert item["owner"]["id"] == seeded.users["sam"]
    assert response.headers["Location"] == f"http://localhost/api/v1/items/{item['id']}"
    assert response.headers["ETag"] == f'"item-{item["id"]}-v1"'
    again = client.get(response.headers["Location"])
    assert again.get_json() == item
    soccer = client.get("/api/v1/categories").get_json()["categories"][1]
    assert soccer["item_count"] == 2


def test_create_refuses_a_duplicate_name_with_409(client, seeded):
    response = client.post(
        "/api/v1/items",
        json={"category": "soccer", "name": "match ball"},
        headers=seeded.bearer("sam"),
    )
    problem = assert_problem(response, 409)
    assert "Soccer already has an item" in problem["detail"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"category": "soccer", "name": "Flag", "colour": "red"}, "colour"),
        ({"category": "soccer", "name": 42}, "name"),
        ({"category": "soccer", "name": None}, "name"),
        ({"category": "soccer", "name": ["Flag"]}, "name"),
        ({"category": "soccer", "name": "Flag", "description": {"text": "x"}}, "description"),
        ({"category": 7, "name": "Flag"}, "category"),
        ({"category": "soccer"}, "name"),
        ({"name": "Flag"}, "category"),
        ({"category": "soccer", "name": "   "}, "name"),
        ({"category": "soccer", "name": "x" * 81}, "name"),
        ({"category": "soccer", "name": "Flag", "description": "x" * 2001}, "description"),
        ({"category": "soccer", "name": "Two\nlines"}, "name"),
        ({"category": "soccer", "name": "Nul\u0000"}, "name"),
        ({"category": "soccer", "name": "Flag", "description": "Bell\u0007"}, "description"),
        ({"category": "curling", "name": "Stone"}, "category"),
        ([{"category": "soccer", "name": "Flag"}], "_schema"),
    ],
)
def test_invalid_bodies_are_422_naming_the_field(client, seeded, body, field):
    response = client.post("/api/v1/items", json=body, headers=seeded.bearer("ada"))
    problem = assert_problem(response, 422)
    assert field in [e["field"] for e in problem["errors"]]
    assert field in problem["detail"]


# Bodies Python's json module reads wrongly or not at all: each is a 400 naming the problem.
# (The API reads I-JSON, RFC 7493: what another parser could read differently is refused.)
HOSTILE_BODIES = {
    "a 4,301-digit number": (b'{"category": "soccer", "name": ' + b"9" * 4301 + b"}", "number"),
    "a number past 2**53": (b'{"category": "soccer", "name": 9007199254740992}', "number"),
    "NaN": (b'{"category": "soccer", "name": NaN}', "NaN"),
    "Infinity": (b'{"category": "soccer", "name": Infinity}', "Infinity"),
    "-Infinity": (b'{"category": "soccer", "name": -Infinity}', "Infinity"),
    "1e999": (b'{"category": "soccer", "name": 1e999}', "number"),
    "8,000 nested arrays": (b"[" * 8000 + b"]" * 8000, "nested"),
    "2,000 nested objects": (b'{"a":' * 2000 + b"1" + b"}" * 2000, "nested"),
    "a duplicate key": (b'{"category": "soccer", "name": "Flag", "name": "Pole"}', '"name"'),
    "a nested duplicate key": (b'{"name": "Flag", "x": [{"a": 1, "a": 2}]}', '"a"'),
    "invalid UTF-8": (b'{"category": "soccer", "name": "Fl\xe4g"}', "UTF-8"),
    "a UTF-8 byte order mark": (b'\xef\xbb\xbf{"category": "soccer", "name": "Flag"}', "JSON"),
    "a lone surrogate": (b'{"category": "soccer", "name": "Bad \\ud800 text"}', "surrogate"),
    "a lone surrogate in a key": (b'{"category": "soccer", "\\udfff": "x"}', "surrogate"),
    "a lone surrogate in a list": (b'{"name": ["ok", "\\ud83d"]}', "surrogate"),
    "truncated": (b'{"name": ', "JSON"),
}
WRITES = [("POST", "/api/v1/items"), ("PATCH", "/api/v1/items/{ball}")]


@pytest.mark.parametrize(("method", "path"), WRITES)
@pytest.mark.parametrize("body", HOSTILE_BODIES.values(), ids=HOSTILE_BODIES.keys())
def test_bodies_json_cannot_read_alike_are_400(app, client, seeded, method, path, body):
    data, word = body
    before = item_rows(app)
    response = client.open(
        path.format(ball=seeded.items["ball"]),
        method=method,
        data=data,
        content_type="application/json",
        **_auth(seeded),
    )
    problem = assert_problem(response, 400)
    assert word in problem["detail"]
    assert problem["errors"][0]["location"] == "json"
    assert item_rows(app) == before


@pytest.mark.parametrize(("method", "path"), WRITES)
def test_deep_nesting_past_the_body_limit_is_413(client, seeded, method, path):
    response = client.open(
        path.format(ball=seeded.items["ball"]),
        method=method,
        data=b"[" * 100_000 + b"]" * 100_000,
        content_type="application/json",
        **_auth(seeded),
    )
    assert_problem(response, 413)


@pytest.mark.parametrize(
    "data",
    [
        # The largest integer a double holds exactly, fine as JSON; not a name, so 422.
        b'{"category": "soccer", "name": 9007199254740991}',
        b'{"category": "soccer", "name": -9007199254740991}',
        b'{"category": "soccer", "name": 1e308}',
        b'{"category": "soccer", "name": 1e-999}',
        b'{"category": "soccer", "name": ' + b"[" * 20 + b"1" + b"]" * 20 + b"}",
    ],
)
def test_json_the_parser_reads_goes_on_to_the_schema(client, seeded, data):
    response = client.post(
        "/api/v1/items", data=data, content_type="application/json", **_auth(seeded)
    )
    problem = assert_problem(response, 422)
    assert problem["errors"] == [
        {"location": "json", "field": "name", "message": "Not a valid string."}
    ]


def test_astral_characters_escaped_as_surrogate_pairs_are_text(client, seeded):
    response = client.post(
        "/api/v1/items",
        data=b'{"category": "soccer", "name": "Ball \\ud83c\\udf89"}',
        content_type="application/json",
        **_auth(seeded),
    )
    assert response.status_code == 201
    assert response.get_json()["name"] == "Ball \U0001f389"


def item_rows(app):
    with app.app_context():
        return db.session.execute(select(Item.id, Item.name, Item.version).order_by(Item.id)).all()


def test_malformed_json_is_400(client, seeded):
    response = client.post(
        "/api/v1/items", data='{"name": ', content_type="application/json", **_auth(seeded)
    )
    assert_problem(response, 400)


def test_body_that_is_not_json_is_415(client, seeded):
    response = client.post(
        "/api/v1/items", data={"name": "Flag", "category": "soccer"}, **_auth(seeded)
    )
    assert_problem(response, 415)


def test_large_body_is_413(client, seeded):
    body = json.dumps({"category": "soccer", "name": "Flag", "description": "x" * 20_000})
    response = client.post(
        "/api/v1/items", data=body, content_type="application/json", **_auth(seeded)
    )
    assert_problem(response, 413)


def _auth(seeded, subject="ada"):
    return {"headers": seeded.bearer(subject)}


@pytest.mark.backend_independent
def test_bad_query_parameters_are_422(client, seeded):
    for query in ("limit=0", "limit=101", "limit=ten", "cursor=bm9wZQ", "q=%20"):
        problem = assert_problem(client.get(f"/api/v1/items?{query}"), 422)
        assert problem["errors"][0]["location"] == "query"


def test_owner_changes_an_item(client, seeded):
    url = item_url(seeded.items["ball"])
    response = client.patch(url, json={"name": "Match Ball Pro"}, headers=seeded.bearer("ada"))
    assert response.status_code == 200
    item = response.get_json()
    assert item["name"] == "Match Ball Pro"
    assert item["slug"] == "match-ball-pro"
    assert item["description"] == "Size 5, thermally bonded."
    assert item["version"] == 2
    assert response.headers["ETag"] == f'"item-{item["id"]}-v2"'
    assert client.get(url).get_json() == item


def test_moving_an_item_keeps_category_counts(app, client, seeded):
    url = item_url(seeded.items["ball"])
    response = client.patch(url, json={"category": "hockey"}, headers=seeded.bearer("ada"))
    assert response.status_code == 200
    assert response.get_json()["category"] == {"slug": "hockey", "name": "Hockey"}
    with app.app_context():
        counts = dict(db.session.execute(select(Category.slug, Category.item_count)).all())
    assert counts == {"soccer": 0, "hockey": 2}


@pytest.mark.parametrize(("subject", "status"), [("ada", 200), ("sam", 403), ("lena", 200)])
def test_only_owner_or_admin_may_change(client, seeded, subject, status):
    response = client.patch(
        item_url(seeded.items["ball"]), json={"description": "New."}, headers=seeded.bearer(subject)
    )
    assert response.status_code == status


@pytest.mark.parametrize(("subject", "status"), [("ada", 204), ("sam", 403), ("lena", 204)])
def test_only_owner_or_admin_may_delete(app, client, seeded, subject, status):
    response = client.delete(item_url(seeded.items["ball"]), headers=seeded.bearer(subject))
    assert response.status_code == status
    with app.app_context():
        left = db.session.get(Item, seeded.items["ball"])
    assert (left is None) == (status == 204)
    if status == 204:
        assert response.get_data() == b""
        assert_problem(client.get(item_url(seeded.items["ball"])), 404)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "_schema"),
        ({"slug": "x"}, "slug"),
        ({"name": ""}, "name"),
        ({"category": "x"}, "category"),
    ],
)
def test_invalid_changes_are_422(client, seeded, body, field):
    response = client.patch(item_url(seeded.items["ball"]), json=body, headers=seeded.bearer("ada"))
    problem = assert_problem(response, 422)
    assert field in [e["field"] for e in problem["errors"]]


def test_renaming_onto_a_sibling_is_409(client, seeded):
    client.post(
        "/api/v1/items", json={"category": "soccer", "name": "Flag"}, headers=seeded.bearer("ada")
    )
    response = client.patch(
        item_url(seeded.items["ball"]), json={"name": "FLAG"}, headers=seeded.bearer("ada")
    )
    assert_problem(response, 409)


@pytest.mark.backend_independent
def test_writes_need_a_token(client, seeded):
    for response in (
        client.post("/api/v1/items", json={"category": "soccer", "name": "Flag"}),
        client.patch(item_url(seeded.items["ball"]), json={"name": "Flag"}),
        client.delete(item_url(seeded.items["ball"])),
    ):
        problem = assert_problem(response, 401)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert "Authorization: Bearer" in problem["detail"]


def test_writes_need_no_csrf_token(app, make_app, database_url):
    guarded = make_app(SQLALCHEMY_DATABASE_URI=database_url, WTF_CSRF_ENABLED=True)
    seeded = seed_api_catalog(guarded)
    client = guarded.test_client()
    assert client.post("/logout").status_code == 400  # CSRF is on for the HTML forms
    response = client.post(
        "/api/v1/items", json={"category": "soccer", "name": "Flag"}, headers=seeded.bearer("ada")
    )
    assert response.status_code == 201


def test_if_none_match_gives_304_until_the_item_changes(client, seeded):
    url = item_url(seeded.items["ball"])
    etag = client.get(url).headers["ETag"]
    cached = client.get(url, headers={"If-None-Match": etag})
    assert cached.status_code == 304
    assert cached.get_data() == b""
    assert cached.headers["ETag"] == etag
    assert client.get(url, headers={"If-None-Match": f"W/{etag}"}).status_code == 304
    assert client.get(url, headers={"If-None-Match": '"other", ' + etag}).status_code == 304
    assert client.get(url, headers={"If-None-Match": "*"}).status_code == 304
    assert client.get(url, headers={"If-None-Match": '"other"'}).status_code == 200

    client.patch(url, json={"description": "Changed."}, headers=seeded.bearer("ada"))
    fresh = client.get(url, headers={"If-None-Match": etag})
    assert fresh.status_code == 200
    assert fresh.headers["ETag"] != etag


@pytest.mark.parametrize("url", ["/api/v1/items?limit=5", "/api/v1/categories"])
def test_lists_answer_304_until_they_change(client, seeded, url):
    etag = client.get(url).headers["ETag"]
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    client.post(
        "/api/v1/items", json={"category": "soccer", "name": "Flag"}, headers=seeded.bearer("ada")
    )
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 200


@pytest.mark.parametrize("method", ["patch", "delete"])
def test_stale_if_match_is_412_and_changes_nothing(app, client, seeded, method):
    url = item_url(seeded.items["ball"])
    stale = client.get(url).headers["ETag"]
    client.patch(url, json={"description": "Someone else's edit."}, headers=seeded.bearer("lena"))

    kwargs = {"json": {"description": "Mine."}} if method == "patch" else {}
    response = getattr(client, method)(
        url, headers={**seeded.bearer("ada"), "If-Match": stale}, **kwargs
    )
    problem = assert_problem(response, 412)
    assert "changed" in problem["detail"]
    with app.app_context():
        item = db.session.get(Item, seeded.items["ball"])
        assert item.description == "Someone else's edit."
        assert item.version == 2


@pytest.mark.parametrize("if_match", ["current", "*", '"nope", current'])
def test_matching_if_match_lets_the_change_through(client, seeded, if_match):
    url = item_url(seeded.items["ball"])
    current = client.get(url).headers["ETag"]
    response = client.patch(
        url,
        json={"description": "Mine."},
        headers={**seeded.bearer("ada"), "If-Match": if_match.replace("current", current)},
    )
    assert response.status_code == 200


@pytest.mark.parametrize("method", ["patch", "delete"])
@pytest.mark.parametrize("if_match", ["", " ", " \t "])
def test_a_blank_if_match_is_400_and_changes_nothing(app, client, seeded, method, if_match):
    url = item_url(seeded.items["ball"])
    kwargs = {"json": {"description": "Mine."}} if method == "patch" else {}
    response = getattr(client, method)(
        url, headers={**seeded.bearer("ada"), "If-Match": if_match}, **kwargs
    )
    problem = assert_problem(response, 400)
    assert "If-Match" in problem["detail"]
    with app.app_context():
        item = db.session.get(Item, seeded.items["ball"])
        assert (item.description, item.version) == ("Size 5, thermally bonded.", 1)


def test_weak_etag_never_satisfies_if_match(client, seeded):
    url = item_url(seeded.items["ball"])
    current = client.get(url).headers["ETag"]
    response = client.patch(
        url,
        json={"description": "Mine."},
        headers={**seeded.bearer("ada"), "If-Match": f"W/{current}"},
    )
    assert_problem(response, 412)


def test_reads_cost_a_fixed_number_of_queries(app, client, seeded, count_queries):
    with app.app_context():
        from catalog.seed import seed_synthetic

        seed_synthetic(150)
    # Each read starts with the change marker (its ETag).
    reads = {
        "/api/v1/categories": 2,
        "/api/v1/items?limit=100": 2,
        "/api/v1/items?limit=100&category=soccer": 3,
        "/api/v1/items?limit=100&q=synthetic": 2,
        item_url(seeded.items["ball"]): 2,
    }
    for url, expected in reads.items():
        with count_queries() as queries:
            assert client.get(url).status_code == 200
        assert len(queries) == expected, (url, queries)


def test_writes_cost_a_fixed_number_of_queries(client, seeded, count_queries):
    with count_queries() as queries:
        created = client.post(
            "/api/v1/items",
            json={"category": "soccer", "name": "Flag"},
            headers=seeded.bearer("ada"),
        )
    assert created.status_code == 201
    # token (and its first use), category, insert, count update, the change marker
    assert len(queries) <= 6, queries
    url = created.headers["Location"]
    with count_queries() as queries:
        assert (
            client.patch(url, json={"category": "hockey"}, headers=seeded.bearer("ada")).status_code
            == 200
        )
    # token, item, category, update, two count updates, the change marker
    assert len(queries) <= 8, queries
    with count_queries() as queries:
        assert client.delete(url, headers=seeded.bearer("ada")).status_code == 204
    # token, item, delete, count update, the change marker
    assert len(queries) <= 5, queries


@pytest.mark.backend_independent
def test_openapi_document_describes_exactly_the_routes(app, client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"] == "3.1.0"
    documented = {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
        if method != "parameters"
    }
    served = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api."):
            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
            served |= {(m, path) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert documented == served
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    create = document["paths"]["/api/v1/items"]["post"]
    assert create["security"] == [{"bearerAuth": []}]
    assert set(create["responses"]) == {"201", "400", "401", "409", "413", "415", "422", "429"}


def test_the_document_says_a_change_names_at_least_one_field(client, seeded):
    document = client.get("/api/v1/openapi.json").get_json()
    change = document["components"]["schemas"]["ItemChange"]
    assert change["minProperties"] == 1
    assert change["additionalProperties"] is False
    # ...as the API itself says.
    response = client.patch(item_url(seeded.items["ball"]), json={}, headers=seeded.bearer("ada"))
    assert_problem(response, 422)


def parameters(document):
    """Yield ``(operation, parameter)`` for every parameter of every operation."""
    for path, operations in document["paths"].items():
        shared = operations.get("parameters", [])  # the path's own, such as {item_id}
        for method, operation in operations.items():
            if method != "parameters":
                for parameter in [*shared, *operation.get("parameters", [])]:
                    yield f"{method.upper()} {path}", parameter


@pytest.mark.backend_independent
def test_every_parameter_has_a_documented_bound(client):
    document = client.get("/api/v1/openapi.json").get_json()
    found = list(parameters(document))
    assert {p["in"] for _, p in found} == {"path", "query", "header"}
    for operation, parameter in found:
        schema = parameter["schema"]
        if schema["type"] == "integer":
            assert "maximum" in schema, (operation, parameter)
            assert "minimum" in schema, (operation, parameter)
        else:
            assert schema["type"] == "string"
            assert 0 < schema["maxLength"] <= 1024, (operation, parameter)
    blank_if_match = [p for _, p in found if p["name"] == "If-Match"]
    assert blank_if_match
    assert all(p["schema"]["minLength"] == 1 for p in blank_if_match)


@pytest.mark.backend_independent
@pytest.mark.parametrize(
    ("path", "headers", "location", "field"),
    [
        ("/api/v1/items?q=" + "w" * 201, {}, "query", "q"),
        ("/api/v1/items?category=" + "c" * 101, {}, "query", "category"),
        ("/api/v1/items?cursor=" + "1" * 13, {}, "query", "cursor"),
        ("/api/v1/items", {"If-None-Match": '"' + "e" * 1023 + '"'}, "headers", "If-None-Match"),
        ("/api/v1/categories", {"If-None-Match": "e" * 1025}, "headers", "If-None-Match"),
    ],
)
def test_parameters_over_their_length_are_422(client, seeded, path, headers, location, field):
    problem = assert_problem(client.get(path, headers=headers), 422)
    assert [(e["location"], e["field"]) for e in problem["errors"]] == [(location, field)]


@pytest.mark.parametrize(
    ("method", "header", "value"),
    [
        ("patch", "If-Match", '"' + "e" * 1023 + '"'),
        ("delete", "If-Match", "*" * 1025),
        ("post", "Idempotency-Key", "k" * 256),
    ],
)
def test_write_headers_over_their_length_are_422(app, client, seeded, method, header, value):
    before = item_rows(app)
    path = "/api/v1/items" if method == "post" else item_url(seeded.items["ball"])
    kwargs = {"json": {"category": "soccer", "name": "Flag"}} if method != "delete" else {}
    response = getattr(client, method)(
        path, headers={**seeded.bearer("ada"), header: value}, **kwargs
    )
    problem = assert_problem(response, 422)
    assert [(e["location"], e["field"]) for e in problem["errors"]] == [("headers", header)]
    assert item_rows(app) == before


@pytest.mark.backend_independent
def test_operations_are_linked_for_clients_that_follow_links(client):
    document = client.get("/api/v1/openapi.json").get_json()
    ids = {
        operation["operationId"]: (method, path)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if method != "parameters"
    }
    assert ids == {
        "listCategories": ("get", "/api/v1/categories"),
        "listItems": ("get", "/api/v1/items"),
        "createItem": ("post", "/api/v1/items"),
        "getItem": ("get", "/api/v1/items/{item_id}"),
        "changeItem": ("patch", "/api/v1/items/{item_id}"),
        "deleteItem": ("delete", "/api/v1/items/{item_id}"),
        "putItemImage": ("put", "/api/v1/items/{item_id}/image"),
        "deleteItemImage": ("delete", "/api/v1/items/{item_id}/image"),
    }
    item = document["paths"]["/api/v1/items/{item_id}"]
    image = document["paths"]["/api/v1/items/{item_id}/image"]
    answers = [
        document["paths"]["/api/v1/items"]["post"]["responses"]["201"],
        item["get"]["responses"]["200"],
        item["patch"]["responses"]["200"],
        image["put"]["responses"]["200"],
        image["delete"]["responses"]["200"],
    ]
    for answer in answers:
        links = answer["links"]
        assert {link["operationId"] for link in links.values()} == {
            "getItem",
            "changeItem",
            "deleteItem",
            "putItemImage",
            "deleteItemImage",
        }
        for link in links.values():
            assert link["parameters"]["item_id"] == "$response.body#/id"
            if link["operationId"] != "getItem":
                assert link["parameters"]["header.If-Match"] == "$response.header.ETag"


@pytest.mark.backend_independent
def test_docs_page_works_offline_without_scripts(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for operation in ("GET /api/v1/items", "PATCH /api/v1/items/{item_id}", "DELETE"):
        assert operation in page
    assert 'id="schema-ItemCreate"' in page
    assert "<script" not in page
    assert "style=" not in page
    # Nothing is fetched from another host: every src and stylesheet is local.
    for url in re.findall(r'(?:src|href)="([^"]+)"', page):
        assert not url.startswith(("http://", "https://", "//")) or url.startswith(
            "http://localhost/"
        ), url
