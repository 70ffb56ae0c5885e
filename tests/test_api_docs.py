"""The API reference page: descriptions rendered from their Markdown, limits in good English."""

import re

import pytest

from catalog.api.docs import constraints, markdown, markdown_inline


@pytest.mark.backend_independent
def test_the_reference_renders_the_descriptions_markdown(client):
    page = client.get("/api/v1/docs").get_data(as_text=True)
    # The create operation's description names its header in backticks.
    assert "<code>Idempotency-Key</code>" in page
    assert "`Idempotency-Key`" not in page
    assert "`" not in page.replace("``", "")


@pytest.mark.backend_independent
def test_the_reference_says_character_once_and_characters_otherwise(client):
    page = client.get("/api/v1/docs").get_data(as_text=True)
    assert "at least 1 character" in page
    assert "at least 1 characters" not in page
    assert "at most 80 characters" in page
    assert (
        constraints({"minLength": 1, "maxLength": 1}) == "at least 1 character, at most 1 character"
    )
    assert constraints({"maxLength": 2, "minimum": 1}) == "at most 2 characters, from 1"


@pytest.mark.backend_independent
def test_the_reference_tables_become_cards_on_a_phone(client):
    page = client.get("/api/v1/docs").get_data(as_text=True)
    assert re.search(r'<h3>Responses</h3>\s*<table class="records">', page)
    assert 'data-label="Headers"' in page


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("Send `If-Match`.", "<p>Send <code>If-Match</code>.</p>\n"),
        ("<script>alert(1)</script>", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>\n"),
        ("[x](javascript:alert(1))", "<p>[x](javascript:alert(1))</p>\n"),
        (
            '<img src=x onerror="alert(1)">',
            "<p>&lt;img src=x onerror=&quot;alert(1)&quot;&gt;</p>\n",
        ),
        ("", ""),
    ],
)
def test_descriptions_are_rendered_with_any_markup_of_their_own_escaped(text, shown):
    assert markdown(text) == shown


def test_a_short_description_is_rendered_inline():
    assert markdown_inline("The `next` page") == "The <code>next</code> page"
    assert markdown_inline(None) == ""
