"""URLs of items and categories: absolute for the API and /catalog.json, paths for pages.

Building them from two prefixes found once per request, rather than asking the
URL map for each of a hundred thousand items (or each of a page's fifty links),
keeps /catalog.json and the listing pages fast.
"""

import string
from typing import Any, NamedTuple
from urllib.parse import quote

from flask import url_for

from catalog.images.processing import DISPLAY, ORIGINAL, SIZES, THUMBNAIL, fit

# What quote() leaves as it is (its default safe "/" included). What slugify makes of
# Latin names is made only of these and skips quote(); other scripts are quoted.
_URL_SAFE = string.ascii_letters + string.digits + "_.-~/"


def url_segment(slug: str) -> str:
    """Return ``slug`` as it appears in a URL: what ``quote(slug)`` returns, sooner."""
    return quote(slug) if slug.rstrip(_URL_SAFE) else slug


class Shown(NamedTuple):
    """One size of a picture as a page shows it: WebP, the JPEG for other browsers, its size."""

    webp: str
    jpeg: str
    width: int
    height: int


class Links:
    """Build page and API URLs for items and categories of the current request's site;
    with ``external=False``, paths without the scheme and host, for links in pages."""

    def __init__(self, external: bool = True):
        self.catalog = url_for("catalog.index", _external=external) + "catalog/"
        self.api_items = url_for("api.list_items", _external=external)
        # Every picture's URL is this prefix and its file's name (catalog.images.views).
        self.images = url_for("images.serve", name="x", _external=external)[:-1]
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

    def picture(self, sha256: str, width: int, height: int, size: str) -> Shown:
        """Return the files of one size of a picture whose original is ``width`` × ``height``."""
        shown_width, shown_height = fit(width, height, SIZES[size])
        base = f"{self.images}{sha256}-{size}"
        return Shown(f"{base}.webp", f"{base}.jpg", shown_width, shown_height)

    def thumbnail(self, row: Any) -> Shown | None:
        """Return the thumbnail of a row with ``image_sha256``, ``image_width`` and
        ``image_height``, or None when its item has no picture."""
        if row.image_sha256 is None:
            return None
        return self.picture(row.image_sha256, row.image_width, row.image_height, THUMBNAIL)

    def image_document(self, picture: dict[str, Any]) -> dict[str, Any]:
        """Return the API's ``image`` of an item from ``picture_fields``: its URLs and sizes."""
        sha256, width, height = picture["sha256"], picture["width"], picture["height"]
        document: dict[str, Any] = {
            "alt": picture["alt"],
            "width": width,
            "height": height,
            "url": f"{self.images}{sha256}-{ORIGINAL}.{picture['format']}",
        }
        for key, size in (("display", DISPLAY), ("thumbnail", THUMBNAIL)):
            shown = self.picture(sha256, width, height, size)
            document[key] = {
                "width": shown.width,
                "height": shown.height,
                "webp": shown.webp,
                "jpeg": shown.jpeg,
            }
        return document

    def add_to_item(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Add ``url`` (the item's page) and ``api_url`` to an item's ``fields``, and make its
        picture's URLs; return them."""
        if fields["image"] is not None:
            fields["image"] = self.image_document(fields["image"])
        fields["url"] = self.item_url(fields["category"]["slug"], fields["slug"])
        fields["api_url"] = self.item_api_url(fields["id"])
        return fields

    def add_to_category(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Add ``url`` and ``items_url`` to a category's ``fields``; return them."""
        fields["url"] = self.category_url(fields["slug"])
        fields["items_url"] = self.category_items_url(fields["slug"])
        return fields
