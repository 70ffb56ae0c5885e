"""The JSON API's operations: categories, items, and changes to items.

Reads are public; writes need a bearer token and follow the rules in
``catalog.changes``, the same the HTML forms follow. Each operation costs a few
queries whatever the catalog's size.
"""

from collections.abc import Callable
from typing import Any, NoReturn, TypeVar, cast

import flask_smorest
import marshmallow as ma
from flask import Response, abort, g, request, url_for
from flask.typing import ResponseReturnValue
from flask.views import MethodView
from sqlalchemy import select
from werkzeug.exceptions import Conflict, RequestEntityTooLarge

from catalog import changes
from catalog.api import conditional, idempotency
from catalog.api.bearer import token_required
from catalog.api.bodies import BODY_MAX, Blueprint, too_large
from catalog.api.cursors import encode_cursor
from catalog.api.schemas import (
    CategoryListSchema,
    ItemChangeSchema,
    ItemCreateSchema,
    ItemPageSchema,
    ItemQuerySchema,
    ItemSchema,
)
from catalog.api.spec import BEARER
from catalog.extensions import csrf, db
from catalog.identity import token_user
from catalog.images.processing import Picture, Refused, process
from catalog.links import Links
from catalog.lookups import item_for_change, item_row_by_id, no_item
from catalog.models import Category, Item
from catalog.search import api_query
from catalog.serialize import (
    CATEGORY_COLUMNS,
    category_fields,
    item_dict,
    item_fields,
    item_rows,
)
from catalog.web import caching, limits, uploads
from catalog.web.caching import validated
from catalog.web.connections import read_only

bp = Blueprint(
    "api",
    __name__,
    url_prefix="/api/v1",
    description="Categories and items. Reads are public; writes need a personal API token.",
)
# Writes authenticate with bearer tokens, never cookies, so there is nothing to forge.
csrf.exempt(bp)
limits.limit_writes(bp)

ITEM_PATH = "/items/<int_id:item_id>"
WRITE: dict[str, Any] = {"security": [{BEARER: []}]}
# How often a change without If-Match is tried on a row that others keep changing.
CHANGE_ATTEMPTS = 5
# flask-smorest's abort, which carries webargs' kind of messages; it always raises.
abort_with_data = cast(Callable[..., NoReturn], flask_smorest.abort)
T = TypeVar("T")


class IfNoneMatch(ma.Schema):
    if_none_match = ma.fields.String(
        data_key="If-None-Match",
        validate=ma.validate.Length(max=conditional.ETAGS_MAX),
        metadata={"description": "An ETag from an earlier answer: 304 if it is still current."},
    )


class IfMatch(ma.Schema):
    # A blank value is a 400 (catalog.api.conditional.if_match), so its bounds are only
    # documented here: to webargs an empty string would be a 422.
    if_match = ma.fields.String(
        data_key="If-Match",
        validate=ma.validate.Length(max=conditional.ETAGS_MAX),
        metadata={
            "minLength": 1,
            "pattern": r"[^\t ]",
            "description": "The item's ETag as you read it (or `*`): 412 if it changed "
            "since. Leave it out to change the item as it is now; blank is a 400.",
        },
    )


def _links(*operations: str, status: int) -> dict[str, Any]:
    """Return the OpenAPI links from an answer with an item, by ``status``, to ``operations``.

    Each link names the item by the answer's ``id``; a change or delete sends back the
    answer's ETag as ``If-Match``.
    """
    links: dict[str, Any] = {}
    for operation in operations:
        parameters = {"item_id": "$response.body#/id"}
        if operation != "getItem":
            parameters["header.If-Match"] = "$response.header.ETag"
        links[operation[0].upper() + operation[1:]] = {
            "operationId": operation,
            "parameters": parameters,
        }
    return {"responses": {status: {"links": links}}}


ON_THE_ITEM = ("getItem", "changeItem", "deleteItem", "putItemImage", "deleteItemImage")
# The picture's body, as the document describes it: the bytes of the file.
IMAGE_BODY = {
    "required": True,
    "description": "The picture's file: JPEG, PNG, WebP or GIF (its first frame), at most "
    "`IMAGE_MAX_BYTES` (5 MB) and `IMAGE_MAX_PIXELS` (40 megapixels). Its content decides "
    "what it is, not its type; SVG, HTML, damaged files and files with anything besides "
    "the picture are refused. It is turned upright by its EXIF orientation and stored "
    "without any metadata (GPS positions included).",
    "content": {
        media_type: {"schema": {"type": "string", "format": "binary"}}
        for media_type in uploads.MEDIA_TYPES
    },
}


ETAG_HEADER = {"ETag": {"schema": {"type": "string"}, "required": True}}


@bp.before_request
def bodies_are_small_json() -> None:
    """Refuse bodies that are too large (413) or not JSON (415) before any work."""
    if request.endpoint == uploads.API_ENDPOINT:
        return  # a picture, within its own limit (catalog.web.uploads)
    if (request.content_length or 0) > BODY_MAX:
        abort(413, description=too_large())
    # Bodies without a length (chunked) are read no further than this: one byte past the
    # limit, which the parser (catalog.api.bodies) then refuses with 413. At the limit
    # itself the reader would stop without a word, and a body cut there reads as bad JSON.
    request.max_content_length = BODY_MAX + 1
    if request.method in ("POST", "PATCH") and not request.is_json:
        abort(
            415,
            description="Send the body as JSON, with `Content-Type: application/json`.",
        )


def _invalid(field: str, message: str) -> NoReturn:
    """Abort with 422 for ``field`` of the JSON body, as validation errors are reported."""
    abort_with_data(422, messages={"json": {field: [message]}})


def _category(slug: str, field: str = "category") -> Category:
    category = db.session.scalar(select(Category).where(Category.slug == slug))
    if category is None:
        _invalid(field, f"There is no category “{slug}”.")
    return category


def _name_taken(refused: changes.DuplicateName) -> NoReturn:
    """Answer 409, naming the item that holds the name, with its URL in the API.

    The refused change was made without a savepoint, so the transaction is rolled
    back first: the lookup needs one that can run statements, and nothing of this
    request is kept (an ``Idempotency-Key`` claimed in it included).
    """
    db.session.rollback()
    taken = changes.taken_by(refused)
    before, name, after = changes.taken_message(refused, taken)
    if taken is not None and taken.item_id is not None:
        name = f"{name} ({Links().item_api_url(taken.item_id)})"
    abort(409, description=f"{before}{name}{after}")


def _may_change(item_id: int) -> None:
    """Abort unless the token's owner may change the item and ``If-Match`` holds, as
    ``_change`` will check again: before a picture is read, whoever may not is answered."""
    tags = conditional.if_match()
    row = db.session.execute(
        select(Item.owner_id, Item.version).where(Item.id == item_id)
    ).one_or_none()
    if row is None:
        abort(404, description=no_item(item_id))
    if not changes.may_change(token_user(), row.owner_id):
        abort(403, description="Only the item's owner (or an admin) can change it.")
    conditional.check_if_match(conditional.item_etag(item_id, row.version), tags)


def _picture() -> Picture:
    """Read the request's body as a picture; abort with 413, 415 or 422 if it is not one."""
    if request.mimetype not in uploads.MEDIA_TYPES:
        abort(
            415,
            description="Send the picture's file as the body, with `Content-Type` "
            f"{', '.join(uploads.MEDIA_TYPES)}.",
        )
    try:
        data = request.get_data(cache=False)
    except RequestEntityTooLarge:
        abort(413, description=uploads.too_large(request.content_length))
    try:
        return process(data, max_bytes=uploads.max_bytes(), max_pixels=uploads.max_pixels())
    except Refused as refused:
        abort(refused.status, description=str(refused))


def _change(item_id: int, apply: Callable[[Item], T]) -> T:
    """Run ``apply(item)`` on the item if the token's owner may change it and ``If-Match`` holds.

    Without ``If-Match`` the client asked to change the item as it is now, not as it
    was when they read it, so a change that lost a race to another (a stale version
    at the flush) is applied again to the fresh row: the outcome of the two running
    one after the other, which is what was asked. It is retried a few times, then
    answered with 409. With ``If-Match`` the client named the version to change, and
    losing the race is that precondition failing: 412. Every refusal is answered at
    once, so the changes need no savepoint (``savepoint=False``): a lost race starts
    the transaction again, and any other refusal drops it with the request.
    """
    tags = conditional.if_match()
    for _ in range(CHANGE_ATTEMPTS):
        item = item_for_change(item_id)
        if not changes.can_change(token_user(), item):
            abort(403, description="Only the item's owner (or an admin) can change it.")
        conditional.check_if_match(conditional.item_etag(item.id, item.version), tags)
        try:
            return apply(item)
        except changes.StaleVersion as exc:
            if tags is not None:
                abort(412, description=str(exc))
            # The flush failed: start again, in a new transaction, from the fresh row.
            db.session.rollback()
    raise Conflict(description="Others kept changing this item while yours was applied; try again.")


def _document(item: Item) -> dict[str, Any]:
    """Return ``item`` as the API shows it; call before committing, which expires it."""
    return Links().add_to_item(item_dict(item))


def _etag(document: dict[str, Any]) -> str:
    return conditional.item_etag(document["id"], document["version"])


@bp.get("/categories")
@read_only
@bp.doc(operationId="listCategories")
@bp.arguments(IfNoneMatch(), location="headers")
@bp.response(200, CategoryListSchema, headers=ETAG_HEADER)
@bp.alt_response(304, response="NOT_MODIFIED")
@validated(personal=False)
def list_categories(headers: dict[str, str]) -> Response:
    """List every category with its number of items."""
    links = Links()
    categories = db.session.execute(select(*CATEGORY_COLUMNS).order_by(Category.name)).mappings()
    document = {"categories": [links.add_to_category(category_fields(**c)) for c in categories]}
    return conditional.json_response(document)


@bp.get("/items")
@read_only
@bp.doc(operationId="listItems")
@bp.arguments(ItemQuerySchema(), location="query")
@bp.arguments(IfNoneMatch(), location="headers")
@bp.response(
    200,
    ItemPageSchema,
    headers={
        **ETAG_HEADER,
        "Link": {"description": 'The next page, as `rel="next"`.', "schema": {"type": "string"}},
    },
)
@bp.alt_response(304, response="NOT_MODIFIED")
@bp.alt_response(404, response="NOT_FOUND", description="No such category.")
@validated(personal=False)
def list_items(query: dict[str, Any], headers: dict[str, str]) -> Response:
    """List items in the order they were added, a page at a time.

    Follow `next` until it is null to walk them all; items added meanwhile
    appear at the end, and none is listed twice.
    """
    limit = query["limit"]
    category_id = None
    if "category" in query:
        category_id = db.session.scalar(
            select(Category.id).where(Category.slug == query["category"])
        )
        if category_id is None:
            abort(404, description=f"There is no category “{query['category']}”.")
    if "q" in query:
        # Filtered by the words, the planner walked every item in id order for words it
        # has no statistics on (bench/RESULTS.md, "Search plans"); catalog.search finds
        # the same items in the same order another way.
        statement, params = api_query(
            query["q"], after=query.get("cursor", 0), count=limit + 1, category_id=category_id
        )
    else:
        statement, params = item_rows().order_by(Item.id).limit(limit + 1), {}
        if "cursor" in query:
            statement = statement.where(Item.id > query["cursor"])
        if category_id is not None:
            statement = statement.where(Item.category_id == category_id)
    rows = db.session.execute(statement, params).all()

    links = Links()
    items = [links.add_to_item(item_fields(**row._mapping)) for row in rows[:limit]]
    next_url = None
    if len(rows) > limit:
        params = {k: v for k, v in request.args.items() if k in ("limit", "category", "q")}
        params["cursor"] = encode_cursor(items[-1]["id"])
        next_url = url_for("api.list_items", _external=True, **params)
    document = {"items": items, "next": next_url}
    return conditional.json_response(
        document, headers={"Link": f'<{next_url}>; rel="next"'} if next_url else None
    )


@bp.post("/items")
@token_required
@bp.doc(**WRITE, operationId="createItem", **_links(*ON_THE_ITEM, status=201))
@bp.arguments(ItemCreateSchema())
@bp.arguments(idempotency.IdempotencyKeyHeader(), location="headers")
@bp.response(
    201,
    ItemSchema,
    headers={
        **ETAG_HEADER,
        "Location": {
            "description": "The new item's URL.",
            "schema": {"type": "string"},
            "required": True,
        },
        **idempotency.REPLAYED_HEADER,
    },
)
@bp.alt_response(400, response="BAD_REQUEST")
@bp.alt_response(401, response="UNAUTHORIZED")
@bp.alt_response(
    409,
    response="CONFLICT",
    description="The category has an item of that name, or a request with the same "
    "`Idempotency-Key` is still being processed.",
)
@bp.alt_response(413, response="REQUEST_ENTITY_TOO_LARGE")
@bp.alt_response(415, response="UNSUPPORTED_MEDIA_TYPE")
@bp.alt_response(429, response="TOO_MANY_REQUESTS")
def create_item(data: dict[str, Any], headers: dict[str, str]) -> ResponseReturnValue:
    """Add an item, owned by the token's owner.

    Send an `Idempotency-Key` to make retrying safe: a retry with the same key and
    body gets the first answer again (with `Idempotent-Replayed: true`), not a
    second item.
    """
    key = headers.get("idempotency_key")
    if key is not None:
        stored = idempotency.claim(g.api_user, key, data)
        if stored is not None:
            return stored
    category = _category(data["category"])
    try:
        item = changes.add_item(
            g.api_user,
            category,
            data["name"],
            data["description"],
            image_alt=data["image_alt"],
            savepoint=False,
        )
    except changes.DuplicateName as exc:
        _name_taken(exc)
    document = _document(item)
    answer = {"Location": document["api_url"], "ETag": _etag(document)}
    idempotency.remember(document, 201, answer)
    db.session.commit()
    return document, 201, answer


@bp.route(ITEM_PATH, endpoint="item")
class ItemResource(MethodView):
    """One item. (One URL rule for all its methods: an id out of range is then a plain 404.)"""

    @read_only
    @bp.doc(operationId="getItem", **_links(*ON_THE_ITEM, status=200))
    @bp.arguments(IfNoneMatch(), location="headers")
    @bp.response(200, ItemSchema, headers=ETAG_HEADER)
    @bp.alt_response(304, response="NOT_MODIFIED")
    @bp.alt_response(404, response="NOT_FOUND")
    def get(self, headers: dict[str, str], item_id: int) -> Response:
        """Show one item."""
        # The catalog's marker before the item, so that the ETag is never newer than it.
        state = caching.marker()
        digest = caching.page_digest(state)
        unchanged = conditional.unchanged_read(item_id, digest)
        if unchanged is not None:
            return unchanged
        # Kept as the pages are, under the same digest: a change moves the marker.
        kept = caching.kept_answer(digest) if state else None
        if kept is not None:
            # ``*`` and any tag weakly equal to the kept one still get their 304.
            return conditional.not_modified(kept.headers["ETag"]) or kept
        row = item_row_by_id(item_id)
        etag = conditional.read_etag(row.id, row.version, digest)
        modified = conditional.not_modified(etag)
        if modified is not None:
            return modified
        document = Links().add_to_item(item_fields(**row._mapping))
        response = conditional.json_response(document, etag)
        if state:
            caching.keep_answer(digest, response)
        return response

    @token_required
    @bp.doc(**WRITE, operationId="changeItem", **_links(*ON_THE_ITEM, status=200))
    @bp.arguments(ItemChangeSchema())
    @bp.arguments(IfMatch(), location="headers")
    @bp.response(200, ItemSchema, headers=ETAG_HEADER)
    @bp.alt_response(400, response="BAD_REQUEST")
    @bp.alt_response(401, response="UNAUTHORIZED")
    @bp.alt_response(403, response="FORBIDDEN")
    @bp.alt_response(404, response="NOT_FOUND")
    @bp.alt_response(
        409,
        response="CONFLICT",
        description="The category has an item of that name, or (without `If-Match`) others "
        "kept changing the item while this change was applied.",
    )
    @bp.alt_response(412, response="PRECONDITION_FAILED")
    @bp.alt_response(413, response="REQUEST_ENTITY_TOO_LARGE")
    @bp.alt_response(415, response="UNSUPPORTED_MEDIA_TYPE")
    @bp.alt_response(429, response="TOO_MANY_REQUESTS")
    def patch(
        self, data: dict[str, Any], headers: dict[str, str], item_id: int
    ) -> ResponseReturnValue:
        """Change an item's name, description or category.

        Send `If-Match` with the ETag you read to be sure nobody changed it since
        (412 if someone did). Without it the change is made to the item as it is now,
        even if someone else changed it a moment before.
        """

        def apply(item: Item) -> Item:
            fields = dict(data)
            if "category" in fields:
                fields["category"] = _category(data["category"])
            return changes.change_item(item, item.version, savepoint=False, **fields)

        try:
            item = _change(item_id, apply)
        except changes.DuplicateName as exc:
            _name_taken(exc)
        document = _document(item)
        db.session.commit()
        return document, {"ETag": _etag(document)}

    @token_required
    @bp.doc(**WRITE, operationId="deleteItem")
    @bp.arguments(IfMatch(), location="headers")
    @bp.response(204)
    @bp.alt_response(400, response="BAD_REQUEST")
    @bp.alt_response(401, response="UNAUTHORIZED")
    @bp.alt_response(403, response="FORBIDDEN")
    @bp.alt_response(404, response="NOT_FOUND")
    @bp.alt_response(
        409,
        response="CONFLICT",
        description="Without `If-Match`: others kept changing the item while it was deleted.",
    )
    @bp.alt_response(412, response="PRECONDITION_FAILED")
    @bp.alt_response(429, response="TOO_MANY_REQUESTS")
    def delete(self, headers: dict[str, str], item_id: int) -> ResponseReturnValue:
        """Delete an item.

        Send `If-Match` with the ETag you read to be sure nobody changed it since
        (412 if someone did).
        """
        _change(item_id, lambda item: changes.remove_item(item, item.version, savepoint=False))
        db.session.commit()
        return "", 204


IMAGE_ERRORS = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    409: "CONFLICT",
    412: "PRECONDITION_FAILED",
    429: "TOO_MANY_REQUESTS",
}


def _image_responses(view: Callable[..., Any]) -> Callable[..., Any]:
    """Document the statuses a change of an item's picture can answer."""
    for status, name in IMAGE_ERRORS.items():
        description = (
            "Without `If-Match`: others kept changing the item while this change was applied."
            if status == 409
            else None
        )
        view = bp.alt_response(status, response=name, description=description)(view)
    return view


@bp.route(f"{ITEM_PATH}/image", endpoint="item_image")
class ItemImageResource(MethodView):
    """An item's picture: sent as a file, replaced, removed."""

    @token_required
    @bp.doc(
        **WRITE,
        operationId="putItemImage",
        requestBody=IMAGE_BODY,
        **_links(*ON_THE_ITEM, status=200),
    )
    @bp.arguments(IfMatch(), location="headers")
    @bp.response(200, ItemSchema, headers=ETAG_HEADER)
    @_image_responses
    @bp.alt_response(413, response="REQUEST_ENTITY_TOO_LARGE")
    @bp.alt_response(
        415, response="UNSUPPORTED_MEDIA_TYPE", description="Not a JPEG, PNG, WebP or GIF."
    )
    @bp.alt_response(
        422,
        response="UNPROCESSABLE_ENTITY",
        description="The picture is damaged, truncated, or holds more than a picture.",
    )
    def put(self, headers: dict[str, str], item_id: int) -> tuple[dict[str, Any], dict[str, str]]:
        """Give an item a picture, or replace the one it has.

        The answer is the item, with its picture's URLs and a new version (a picture
        change is a change of the item). Send `If-Match` with the ETag you read to be
        sure nobody changed the item since (412 if someone did).
        """
        _may_change(item_id)
        picture = _picture()
        item = _change(
            item_id,
            lambda item: changes.change_item(item, item.version, savepoint=False, picture=picture),
        )
        document = _document(item)
        db.session.commit()
        return document, {"ETag": _etag(document)}

    @token_required
    @bp.doc(**WRITE, operationId="deleteItemImage", **_links(*ON_THE_ITEM, status=200))
    @bp.arguments(IfMatch(), location="headers")
    @bp.response(200, ItemSchema, headers=ETAG_HEADER)
    @_image_responses
    def delete(
        self, headers: dict[str, str], item_id: int
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """Remove an item's picture (if it has none, nothing changes).

        The answer is the item, without a picture. Send `If-Match` with the ETag you
        read to be sure nobody changed the item since (412 if someone did).
        """
        item = _change(
            item_id,
            lambda item: changes.change_item(item, item.version, savepoint=False, picture=None),
        )
        document = _document(item)
        db.session.commit()
        return document, {"ETag": _etag(document)}
