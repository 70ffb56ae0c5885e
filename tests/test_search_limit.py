"""The longest search is one number: the page, the API, its document and both search boxes."""

import re

from catalog.search import QUERY_MAX


def test_both_search_boxes_stop_where_the_page_does(client):
    # The search page has its own box; every other page has the header's.
    for url in ("/search?q=ball", "/login"):
        page = client.get(url).get_data(as_text=True)
        lengths = re.findall(r'<input type="search"[^>]*maxlength="(\d+)"', page)
        assert lengths == [str(QUERY_MAX)], url
    assert client.get("/search", query_string={"q": "b" * QUERY_MAX}).status_code == 200
    refused = client.get("/search", query_string={"q": "b" * (QUERY_MAX + 1)})
    assert refused.status_code == 400
    assert f"at most {QUERY_MAX} characters" in refused.get_data(as_text=True)


def test_the_api_and_its_document_take_the_same_length(client):
    assert client.get("/api/v1/items", query_string={"q": "b" * QUERY_MAX}).status_code == 200
    assert client.get("/api/v1/items", query_string={"q": "b" * (QUERY_MAX + 1)}).status_code == 422
    document = client.get("/api/v1/openapi.json").get_json()
    [q] = [p for p in document["paths"]["/api/v1/items"]["get"]["parameters"] if p["name"] == "q"]
    assert q["schema"]["maxLength"] == QUERY_MAX
