"""Marshmallow schemas: they parse and validate requests, shape responses, and are the
source the OpenAPI document is generated from.

Request schemas refuse unknown fields (422). Text must be valid Unicode without
control characters (PostgreSQL refuses NUL, XML feeds refuse the rest).
"""

import marshmallow as ma
from marshmallow import fields, validate

from catalog.api.cursors import CursorError, decode_cursor
from catalog.models import DESCRIPTION_MAX, NAME_MAX, SLUG_MAX

LIMIT_DEFAULT = 20
LIMIT_MAX = 100
QUERY_MAX = 200
CURSOR_MAX = 64
_LINE_BREAKS = {"\t", "\n", "\r"}


def _is_control(c: str) -> bool:
    return ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0


def text(value: str, *, multiline: bool = False) -> None:
    """Refuse control characters (tabs and line breaks too, unless ``multiline``) and
    lone surrogates, which JSON can carry but UTF-8 cannot."""
    allowed = _LINE_BREAKS if multiline else set()
    if any(_is_control(c) and c not in allowed for c in value):
        raise ma.ValidationError(
            "Remove the control characters."
            if multiline
            else "Keep this on one line, without control characters."
        )
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ma.ValidationError("Not valid Unicode text.") from None


class Name(fields.String):
    """An item's name: one line, surrounding spaces dropped, 1 to ``NAME_MAX`` characters."""

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs).strip()
        text(value)
        if not value:
            raise ma.ValidationError("Give the item a name.")
        return value


class Description(fields.String):
    """Plain text; CRLF line breaks count as one character, like the form's."""

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs).replace("\r\n", "\n")
        text(value, multiline=True)
        return value


class Slug(fields.String):
    """A category's slug, as in its page's URL."""

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        text(value)
        return value


class Cursor(fields.String):
    """The opaque ``cursor`` of a ``next`` link, read back as the position it encodes."""

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if len(value) > CURSOR_MAX:
            raise ma.ValidationError("Not a cursor from a `next` link.")
        try:
            return decode_cursor(value)
        except CursorError as exc:
            raise ma.ValidationError(str(exc)) from None


class SearchText(fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs).strip()
        text(value)
        if not value:
            raise ma.ValidationError("Give at least one word to search for.")
        return value


def _name_field(**kwargs):
    return Name(
        validate=validate.Length(max=NAME_MAX),
        metadata={"description": "Shown as the item's title; unique within its category."},
        **kwargs,
    )


def _description_field(**kwargs):
    return Description(
        validate=validate.Length(max=DESCRIPTION_MAX),
        metadata={"description": "Plain text; line breaks are kept."},
        **kwargs,
    )


def _category_field(**kwargs):
    return Slug(
        validate=validate.Length(min=1, max=SLUG_MAX),
        metadata={"description": "The slug of the item's category.", "example": "soccer"},
        **kwargs,
    )


class ItemCreateSchema(ma.Schema):
    """A new item."""

    category = _category_field(required=True)
    name = _name_field(required=True)
    description = _description_field(load_default="")


class ItemChangeSchema(ma.Schema):
    """Changes to an item: any of its name, description and category."""

    category = _category_field()
    name = _name_field()
    description = _description_field()

    @ma.validates_schema
    def not_empty(self, data, **kwargs):
        if not data:
            raise ma.ValidationError("Give at least one of name, description and category.")


class ItemQuerySchema(ma.Schema):
    """How to page through items, and which ones."""

    limit = fields.Integer(
        load_default=LIMIT_DEFAULT,
        validate=validate.Range(min=1, max=LIMIT_MAX),
        metadata={"description": "Items per page."},
    )
    cursor = Cursor(
        metadata={
            "maxLength": CURSOR_MAX,
            "description": "Where the page starts: copy it from a `next` link.",
        },
    )
    category = _category_field()
    q = SearchText(
        validate=validate.Length(max=QUERY_MAX),
        metadata={"description": "Words to find in the name or description (full-text)."},
    )


class CategoryRefSchema(ma.Schema):
    slug = fields.String(required=True)
    name = fields.String(required=True)


class OwnerSchema(ma.Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


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
        metadata={"description": "Goes up by one with every change; the ETag is made of it."},
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
