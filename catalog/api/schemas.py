"""Marshmallow schemas: they parse and validate requests, shape responses, and are the
source the OpenAPI document is generated from.

Request schemas refuse unknown fields (422). Text must be valid Unicode without
control characters (PostgreSQL refuses NUL, XML feeds refuse the rest).
"""

import re
from collections.abc import Callable, Mapping
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from catalog.api.cursors import CURSOR_MAX, CURSOR_PATTERN, CursorError, decode_cursor
from catalog.models import DESCRIPTION_MAX, IMAGE_ALT_MAX, NAME_MAX, SLUG_MAX
from catalog.search import QUERY_MAX
from catalog.text import CONTROLS, INVISIBLES, JOINERS, TEXT_CONTROLS, invisible_message, nfc

LIMIT_DEFAULT = 20
LIMIT_MAX = 100

# Patterns written for both Python's re and the ECMA-262 dialect of JSON Schema, so that
# the document says exactly what the code accepts; catalog.text says which characters.
# What str.strip() drops, apart from control characters: a name must hold something else.
_SPACE = r" \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
ONE_LINE = rf"^[^{CONTROLS}]*[^{CONTROLS}{_SPACE}][^{CONTROLS}]*$"
MULTILINE = rf"^[^{TEXT_CONTROLS}]*$"
NO_CONTROL = rf"^[^{CONTROLS}]+$"
ONE_LINE_OR_EMPTY = rf"^[^{CONTROLS}]*$"
# A name: one line, without the invisible and direction-changing characters catalog.text
# names, and with something to show (a joiner alone shows nothing).
_NOT_IN_NAME = f"{CONTROLS}{INVISIBLES}"
NAME = rf"^[^{_NOT_IN_NAME}]*[^{_NOT_IN_NAME}{_SPACE}{JOINERS}][^{_NOT_IN_NAME}]*$"


class Text(fields.String):
    """A string checked as it arrives against a length and a pattern, both documented.

    The checks see the raw value, as a validator of the document would; ``strip``
    and ``unix_newlines`` then tidy what was accepted.
    """

    def __init__(
        self,
        *,
        pattern: str,
        message: str,
        max_length: int,
        min_length: int = 1,
        strip: bool = False,
        unix_newlines: bool = False,
        composed: bool = False,
        explain: Callable[[str], str | None] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        limits: dict[str, Any] = {"pattern": pattern, "maxLength": max_length}
        if min_length:
            limits["minLength"] = min_length
        super().__init__(metadata={**limits, **(metadata or {})}, **kwargs)
        self.pattern = re.compile(pattern)
        self.message = message
        self.max_length = max_length
        self.min_length = min_length
        self.strip = strip
        self.unix_newlines = unix_newlines
        self.composed = composed
        self.explain = explain

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise ma.ValidationError("Not valid Unicode text.") from None
        if not self.min_length <= len(text) <= self.max_length:
            raise ma.ValidationError(
                f"Give {self.min_length} to {self.max_length} characters."
                if self.min_length
                else f"Give at most {self.max_length} characters."
            )
        if not self.pattern.fullmatch(text):
            raise ma.ValidationError((self.explain and self.explain(text)) or self.message)
        if self.strip:
            text = text.strip()
        if self.unix_newlines:
            text = text.replace("\r\n", "\n")
        if self.composed:
            text = nfc(text)
            if len(text) > self.max_length:  # a few characters decompose in NFC
                raise ma.ValidationError(
                    f"Give at most {self.max_length} characters once composed (NFC)."
                )
        return text


class Cursor(fields.String):
    """The opaque ``cursor`` of a ``next`` link, read back as the position it encodes."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = {
            "pattern": CURSOR_PATTERN,
            "maxLength": CURSOR_MAX,
            **kwargs.pop("metadata", {}),
        }
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(  # type: ignore[override]  # the position, not the string
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> int:
        value = super()._deserialize(value, attr, data, **kwargs)
        try:
            return decode_cursor(value)
        except CursorError as exc:
            raise ma.ValidationError(str(exc)) from None


def _name_field(**kwargs: Any) -> Text:
    return Text(
        pattern=NAME,
        message="Give a name on one line, without control, invisible or "
        "direction-changing characters.",
        max_length=NAME_MAX,
        strip=True,
        composed=True,
        explain=invisible_message,
        metadata={
            "description": "Shown as the item's title; unique within its category. "
            "Spaces around it are dropped, and it is kept in Unicode's composed form "
            "(NFC). Invisible and direction-changing characters (format characters, "
            "such as U+202E) are refused; the zero-width joiner and non-joiner may stay."
        },
        **kwargs,
    )


def _description_field(**kwargs: Any) -> Text:
    return Text(
        pattern=MULTILINE,
        message="Remove the control characters (tabs and line breaks may stay).",
        max_length=DESCRIPTION_MAX,
        min_length=0,
        unix_newlines=True,
        metadata={"description": "Plain text; line breaks are kept."},
        **kwargs,
    )


def _category_field(**kwargs: Any) -> Text:
    return Text(
        pattern=NO_CONTROL,
        message="No category's slug has control characters.",
        max_length=SLUG_MAX,
        metadata={"description": "The slug of the item's category.", "example": "soccer"},
        **kwargs,
    )


def _image_alt_field(**kwargs: Any) -> Text:
    return Text(
        pattern=ONE_LINE_OR_EMPTY,
        message="Describe the picture on one line, without control characters.",
        max_length=IMAGE_ALT_MAX,
        min_length=0,
        strip=True,
        metadata={
            "description": "What the item's picture shows, for people who cannot see it; "
            "empty: the item's name stands for it."
        },
        **kwargs,
    )


class ItemCreateSchema(ma.Schema):
    """A new item; its picture is sent afterwards (`PUT /items/{item_id}/image`)."""

    category = _category_field(required=True)
    name = _name_field(required=True)
    description = _description_field(load_default="")
    image_alt = _image_alt_field(load_default="")


class ItemChangeSchema(ma.Schema):
    """Changes to an item: any of its name, description, category and picture's alt text."""

    class Meta:
        # What ``not_empty`` checks, said in the document (catalog.api.spec.SchemaKeywords).
        json_schema = {"minProperties": 1}

    category = _category_field()
    name = _name_field()
    description = _description_field()
    image_alt = _image_alt_field()

    @ma.validates_schema
    def not_empty(self, data: Mapping[str, Any], **kwargs: Any) -> None:
        if not data:
            raise ma.ValidationError(
                "Give at least one of name, description, category and image_alt."
            )


class ItemQuerySchema(ma.Schema):
    """How to page through items, and which ones."""

    limit = fields.Integer(
        load_default=LIMIT_DEFAULT,
        validate=validate.Range(min=1, max=LIMIT_MAX),
        metadata={"description": "Items per page."},
    )
    cursor = Cursor(
        metadata={"description": "Where the page starts: copy it from a `next` link."},
    )
    category = _category_field()
    q = Text(
        pattern=ONE_LINE,
        message="Give at least one word to search for, without control characters.",
        max_length=QUERY_MAX,
        strip=True,
        metadata={"description": "Words to find in the name or description (full-text)."},
    )


class CategoryRefSchema(ma.Schema):
    slug = fields.String(required=True)
    name = fields.String(required=True)


class OwnerSchema(ma.Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


class PictureSizeSchema(ma.Schema):
    """One size of a picture, in WebP and in JPEG (for clients without WebP)."""

    width = fields.Integer(required=True)
    height = fields.Integer(required=True)
    webp = fields.String(required=True, metadata={"format": "uri"})
    jpeg = fields.String(required=True, metadata={"format": "uri"})


class PictureSchema(ma.Schema):
    """An item's picture. Its URLs never change what they serve: cache them for good."""

    alt = fields.String(
        required=True,
        metadata={"description": "The item's `image_alt`, or its name when that is empty."},
    )
    width = fields.Integer(required=True, metadata={"description": "The original's width."})
    height = fields.Integer(required=True, metadata={"description": "The original's height."})
    url = fields.String(
        required=True,
        metadata={
            "format": "uri",
            "description": "The original, upright and without metadata (JPEG, PNG or WebP).",
        },
    )
    display = fields.Nested(
        PictureSizeSchema,
        required=True,
        metadata={
            "description": "At most 1200 pixels on its longer side, as the item's page shows it."
        },
    )
    thumbnail = fields.Nested(
        PictureSizeSchema,
        required=True,
        metadata={"description": "At most 200 pixels on its longer side, as lists show it."},
    )


class ItemSchema(ma.Schema):
    """An item, with every field its page shows."""

    id = fields.Integer(required=True)
    name = fields.String(required=True)
    slug = fields.String(required=True, metadata={"description": "The last part of `url`."})
    description = fields.String(required=True)
    category = fields.Nested(CategoryRefSchema, required=True)
    owner = fields.Nested(OwnerSchema, required=True)
    created = fields.String(required=True, metadata={"format": "date-time"})
    updated = fields.String(required=True, metadata={"format": "date-time"})
    version = fields.Integer(
        required=True,
        metadata={
            "description": "Goes up by one with every change, its picture's included; "
            "the ETag is made of it."
        },
    )
    image_alt = fields.String(
        required=True,
        metadata={"description": "What its owner wrote to describe its picture (may be empty)."},
    )
    image = fields.Nested(
        PictureSchema,
        required=True,
        allow_none=True,
        metadata={"description": "Its picture, or null when it has none."},
    )
    url = fields.String(
        required=True, metadata={"format": "uri", "description": "The item's web page."}
    )
    api_url = fields.String(
        required=True, metadata={"format": "uri", "description": "The item in this API."}
    )


class ItemPageSchema(ma.Schema):
    """One page of items, in the order they were added."""

    items = fields.List(fields.Nested(ItemSchema), required=True)
    next = fields.String(
        required=True,
        allow_none=True,
        metadata={"format": "uri", "description": "The next page, or null on the last one."},
    )


class CategorySchema(ma.Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    slug = fields.String(required=True)
    description = fields.String(required=True)
    item_count = fields.Integer(required=True)
    url = fields.String(
        required=True, metadata={"format": "uri", "description": "The category's web page."}
    )
    items_url = fields.String(
        required=True,
        metadata={"format": "uri", "description": "The category's items in this API."},
    )


class CategoryListSchema(ma.Schema):
    """Every category, by name."""

    categories = fields.List(fields.Nested(CategorySchema), required=True)


class ProblemErrorSchema(ma.Schema):
    location = fields.String(required=True, metadata={"example": "json"})
    field = fields.String(required=True, metadata={"example": "name"})
    message = fields.String(required=True)


class ProblemSchema(ma.Schema):
    """An error, as RFC 9457 problem details."""

    type = fields.String(required=True, metadata={"example": "about:blank"})
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True, metadata={"description": "What went wrong, for people."})
    errors = fields.List(
        fields.Nested(ProblemErrorSchema),
        metadata={"description": "Each field that failed validation (422 only)."},
    )
