"""Ids in URLs, forms and cursors stop at the largest a primary key holds: one rule, ID_MAX."""

import pytest

from catalog.api.cursors import decode_cursor, encode_cursor
from catalog.forms import record_id
from catalog.models import ID_MAX
from catalog.web.converters import IdConverter


def id_rules(app):
    return [
        rule
        for rule in app.url_map.iter_rules()
        if any(isinstance(c, IdConverter) for c in rule._converters.values())
    ]


def test_every_id_rule_uses_the_one_converter(app):
    assert {rule.endpoint for rule in id_rules(app)} == {
        "api.item",
        "api.item_image",
        "catalog.owner",
        "tokens.revoke",
    }
    # Nothing builds its own integer rule with a bound of its own.
    for rule in app.url_map.iter_rules():
        assert "int(" not in rule.rule, rule.rule


def test_an_id_past_the_largest_is_not_found_before_any_view(app, signed_in):
    client = signed_in("ada")
    for rule in id_rules(app):
        method = "GET" if "GET" in rule.methods else min(rule.methods - {"HEAD", "OPTIONS"})
        for given, by_the_view in ((ID_MAX, True), (ID_MAX + 1, False)):
            path = rule.rule.replace(f"<int_id:{next(iter(rule.arguments))}>", str(given))
            response = client.open(path, method=method)
            if by_the_view and rule.endpoint == "api.item_image":
                # The view is reached, and first asks for a token.
                assert response.status_code == 401, (path, method)
                continue
            assert response.status_code == 404, (path, method)
            # The view answers for the largest id (it names it), routing for the next one.
            text = response.get_data(as_text=True)
            if rule.endpoint == "api.item":
                assert (str(given) in text) is by_the_view, text


def test_the_api_document_gives_the_same_bound(client):
    document = client.get("/api/v1/openapi.json").get_json()
    [parameter] = document["paths"]["/api/v1/items/{item_id}"]["parameters"]
    assert parameter["name"] == "item_id"
    assert parameter["schema"] == {"type": "integer", "maximum": ID_MAX, "minimum": 0}


@pytest.mark.parametrize(
    ("given", "expected"),
    [(str(ID_MAX), ID_MAX), (str(ID_MAX + 1), None), ("0", 0), ("-1", None), ("", None)],
)
def test_a_form_takes_ids_up_to_the_largest(given, expected):
    assert record_id(given) == expected


def test_a_cursor_past_the_largest_id_is_past_every_item():
    assert decode_cursor(encode_cursor(ID_MAX + 10**6)) == ID_MAX
    assert decode_cursor(encode_cursor(ID_MAX - 1)) == ID_MAX - 1
