"""Absolute URLs of items and categories, for the API and /catalog.json.

Building them from two prefixes found once per request, rather than asking the
URL map for each of a hundred thousand items, keeps /catalog.json fast.
"""

import re
from urllib.parse import quote

from flask import url_for

# What slugify makes of Latin names needs no quoting; other scripts do.
_PLAIN = re.compile(r"[a-z0-9-]+")


def _segment(slug: str) -> str:
    return slug if _PLAIN.fullmatch(slug) else quote(slug)


class Links:
    """Build page and API URLs for items and categories of the current request's site."""

    def __init__(self):
        self.catalog = url_for("catalog.index", _external=True) + "catalog/"
        self.api_items = url_for("api.list_items", _external=True)
        self._categories: dict[str, str] = {}

    def category_url(self, category_slug: str) -> str:
        """Return the URL of a category's page."""
        url = self._categories.get(category_slug)
        if url is None:
            url = self._categories[category_slug] = f"{self.catalog}{_segment(category_slug)}/"
        return url

    def category_items_url(self, category_slug: str) -> str:
        """Return the API URL listing a category's items."""
        return f"{self.api_items}?category={quote(category_slug)}"

    def item_api_url(self, item_id: int) -> str:
        """Return the URL of an item in the API."""
        return f"{self.api_items}/{item_id}"

    def add_to_item(self, fields: dict) -> dict:
        """Add ``url`` (the item's page) and ``api_url`` to an item's ``fields``; return them."""
        page = f"{self.category_url(fields['category']['slug'])}{_segment(fields['slug'])}/"
        fields["url"] = page
        fields["api_url"] = self.item_api_url(fields["id"])
        return fields

    def add_to_category(self, fields: dict) -> dict:
        """Add ``url`` and ``items_url`` to a category's ``fields``; return them."""
        fields["url"] = self.category_url(fields["slug"])
        fields["items_url"] = self.category_items_url(fields["slug"])
        return fields
