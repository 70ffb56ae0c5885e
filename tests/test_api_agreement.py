"""For any item, the API, /catalog.json and the item's page agree on every field."""

import html
import re

import pytest

from catalog.changes import add_category, add_item, change_item
from catalog.extensions import db
from catalog.models import Item, User
from catalog.seed import seed_demo


@pytest.fixture
def catalog(app):
    """The demo catalog, plus items whose text is easy to get wrong."""
    with app.app_context():
        seed_demo()
        owner = db.session.scalars(db.select(User).order_by(User.id)).first()
        tricky = add_category("Écritoire & <Co>")
        add_item(owner, tricky, "Ручка «Люкс»", "Перьевая.\nСиние чернила.")
        add_item(owner, tricky, '<b>Bold</b> & "quoted"', "Line one\n\n  indented 'line' <i>")
        add_item(owner, tricky, "No description")
        edited = add_item(owner, tricky, "Edited twice", "v1")
        change_item(edited, edited.version, description="v2")
        change_item(edited, edited.version, name="Edited thrice")
        db.session.commit()
        return [item_id for (item_id,) in db.session.execute(db.select(Item.id).order_by(Item.id))]


def page_fields(page: str) -> dict:
    """Read the fields an item's page shows."""

    def one(pattern):
        match = re.search(pattern, page, re.DOTALL)
        assert match, pattern
        return html.unescape(match.group(1))

    description = re.search(r'<div class="description">(.*?)</div>', page, re.DOTALL)
    return {
        "name": one(r"<h1>(.*?)</h1>"),
        "description": html.unescape(description.group(1)) if description else "",
        "category": one(r"<dt>Category</dt><dd>(.*?)</dd>"),
        # The owner's name links to their items: compare the text the link shows.
        "owner": one(r'<dt>Owner</dt><dd><a class="owner" href="/users/\d+/">(.*?)</a></dd>'),
        "created": one(r'<dt>Added</dt><dd><time datetime="([^"]+)">'),
        "updated": one(r'<dt>Updated</dt><dd><time datetime="([^"]+)">'),
    }


def test_api_catalog_json_and_page_agree(client, catalog):
    dump = client.get("/catalog.json").get_json()
    in_dump = {
        item["id"]: (category, item)
        for category in dump["categories"]
        for item in category.pop("items")
    }
    assert sorted(in_dump) == catalog

    for item_id in catalog:
        from_api = client.get(f"/api/v1/items/{item_id}").get_json()
        category, from_dump = in_dump[item_id]
        assert from_dump == from_api
        assert category["slug"] == from_api["category"]["slug"]
        assert category["name"] == from_api["category"]["name"]

        page = client.get(from_api["url"])
        assert page.status_code == 200, from_api["url"]
        shown = page_fields(page.get_data(as_text=True))
        assert shown == {
            "name": from_api["name"],
            "description": from_api["description"],
            "category": from_api["category"]["name"],
            "owner": from_api["owner"]["name"],
            "created": from_api["created"],
            "updated": from_api["updated"],
        }
        assert page.request.path == f"/catalog/{from_api['category']['slug']}/{from_api['slug']}/"


def test_listed_items_agree_with_single_items(client, catalog):
    listed = client.get("/api/v1/items?limit=100").get_json()["items"]
    assert [item["id"] for item in listed] == catalog
    for item in listed:
        assert client.get(item["api_url"]).get_json() == item
