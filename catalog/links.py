"""URLs of items and categories: absolute for the API and /catalog.json, paths for pages.

Building them from two prefixes found once per request, rather than asking the
URL map for each of a hundred thousand items (or each of a page's fifty links),
keeps /catalog.json and the listing pages fast.
"""

import string
from typing import Any
from urllib.parse import quote

from flask import url_for

# What quote() leaves as it is (its default safe "/" included). What slugify makes of
# Latin names is made only of these and skips quote(); other scripts are quoted.
_URL_SAFE = string.ascii_letters + string.digits + "_.-~/"


def url_segment(slug: str) -> str:
    """Return ``slug`` as it appears in a URL: what ``quote(slug)`` returns, sooner."""
    return quote(slug) if slug.rstrip(_URL_SAFE) else slug


class Links:
    """Build page and API URLs for items and categories of the current request's site;
    with ``external=False``, paths without the scheme and host, for links in pages."""

    def __init__(self, external: bool = True):
        self.catalog = url_for("catalog.index", _external=external) + "catalog/"
        self.api_items = url_for("api.list_items", _external=external)
        self._categories: dict[str, str] = {}

    def category_url(self, category_slug: str) -> str:
        """Return the URL of a category's page."""
        url = self._categories.get(category_slug)
        if url is None:
            url = self._categories[category_slug] = f"{self.catalog}{url_segment(category_slug)}/"
        return url

    def item_url(self, category_slug: str, item_slug: str) -> str:
        """Return the URL of an item's page."""
        return f"{self.category_url(category_slug)}{url_segment(item_slug)}/"

    def category_items_url(self, category_slug: str) -> str:
        """Return the API URL listing a category's items."""
        return f"{self.api_items}?category={quote(category_slug)}"

    def item_api_url(self, item_id: int) -> str:
        """Return the URL of an item in the API."""
        return f"{self.api_items}/{item_id}"

    def add_to_item(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Add ``url`` (the item's page) and ``api_url`` to an item's ``fields``; return them."""
        fields["url"] = self.item_url(fields["category"]["slug"], fields["slug"])
        fields["api_url"] = self.item_api_url(fields["id"])
        return fields

    def add_to_category(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Add ``url`` and ``items_url`` to a category's ``fields``; return them."""
        fields["url"] = self.category_url(fields["slug"])
        fields["items_url"] = self.category_items_url(fields["slug"])
        return fields
