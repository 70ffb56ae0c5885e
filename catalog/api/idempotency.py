"""``Idempotency-Key`` on API creates: a retry gets the first answer, not a second item.

The key's row goes in first, in the create's own transaction, and is committed with
the item. A retry arriving after that commit finds the row and gets its answer
again. A retry arriving while the first attempt still runs is held by the unique
(user, key) index (PostgreSQL makes the insert wait; on SQLite the writer's lock
does) until the first attempt ends, and then finds the row. When the first attempt
fails, its rollback takes the row away too, and the retry runs afresh: only
successful creates are remembered, so retrying after a 4xx or a 503 is always safe.

Keys belong to the user whose token sent them, and are kept for ``LIFETIME``; a
user's expired keys are deleted when they claim a new one.

The stored answer keeps the paths of its URLs, not the scheme and host they were first
sent with, and a replay puts the retry's own in front: a retry through another of the
site's names gets links on that name, and an answer first sent to a forged ``Host``
(which gets through when ``ALLOWED_HOSTS`` is unset) never carries that host to the
honest retry.
"""

import hashlib
import json
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any, NoReturn, cast
from urllib.parse import urlsplit, urlunsplit

import flask_smorest
import marshmallow as ma
from flask import abort, g, request
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from catalog.api.schemas import Text
from catalog.changes import is_unique_violation
from catalog.extensions import db
from catalog.models import IDEMPOTENCY_KEY_MAX, IdempotencyKey, User, utcnow

# flask-smorest's abort, which carries webargs' kind of messages; it always raises.
abort_with_data = cast(Callable[..., NoReturn], flask_smorest.abort)
HEADER = "Idempotency-Key"
# Set on an answer that was stored earlier and is sent again.
REPLAYED = "Idempotent-Replayed"
LIFETIME = timedelta(hours=24)
# Printable ASCII without spaces: a UUID, a random token, or a quoted string all fit.
KEY_PATTERN = r"^[!-~]+$"
# Where a stored answer holds URLs: the item's fields, and headers.
URL_FIELDS = ("url", "api_url")
URL_HEADERS = ("Location",)

# A stored answer, as a view returns it: body, status and headers.
Answer = tuple[dict[str, Any], int, dict[str, Any]]

REPLAYED_HEADER = {
    REPLAYED: {
        "description": "`true` when this is the stored answer to an earlier request "
        "with the same `Idempotency-Key`.",
        "schema": {"type": "string", "enum": ["true"]},
    }
}


class IdempotencyKeyHeader(ma.Schema):
    idempotency_key = Text(
        data_key=HEADER,
        pattern=KEY_PATTERN,
        message="Give 1 to 255 printable ASCII characters without spaces, such as a UUID.",
        max_length=IDEMPOTENCY_KEY_MAX,
        metadata={
            "description": "Any unique value (a UUID is good). Retry a create with the same "
            "key and body, and if the first attempt got through you get its answer again "
            "instead of a second item; the same key with another body is 422. Keys are "
            "yours alone and kept for 24 hours."
        },
    )


def fingerprint(data: Mapping[str, Any]) -> str:
    """Return the hex SHA-256 of this request: method, path and its body as parsed."""
    canonical = json.dumps(
        {"method": request.method, "path": request.path, "body": data},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _path(url: str) -> str:
    """Return ``url`` without its scheme and host."""
    return urlunsplit(urlsplit(url)._replace(scheme="", netloc=""))


def _on_this_host(url: str) -> str:
    """Return ``url`` (a path, or an absolute URL kept before) on this request's host."""
    return f"{request.scheme}://{request.host}{_path(url)}"


def _with_urls(
    values: dict[str, Any], names: tuple[str, ...], rewrite: Callable[[str], str]
) -> dict[str, Any]:
    """Return ``values`` with those of ``names`` it has passed through ``rewrite``."""
    return {k: rewrite(v) if k in names else v for k, v in values.items()}


def _live(user_id: int, key: str) -> IdempotencyKey | None:
    return db.session.scalar(
        select(IdempotencyKey).where(
            IdempotencyKey.user_id == user_id,
            IdempotencyKey.client_key == key,
            IdempotencyKey.created >= utcnow() - LIFETIME,
        )
    )


def _in_progress() -> NoReturn:
    abort(
        409,
        description="A request with this Idempotency-Key is still being processed; "
        "retry in a moment to get its answer.",
    )


def _replay(row: IdempotencyKey, print_: str) -> Answer:
    """Return the stored answer as a view's return value, if ``row`` is for this request."""
    if row.fingerprint != print_:
        abort_with_data(
            422,
            messages={
                "headers": {
                    HEADER: [
                        "This key was already used with a different request; "
                        "use a new key for a new item."
                    ]
                }
            },
        )
    if row.status is None:
        _in_progress()
    # remember() fills in the answer's status, body and headers together.
    body = _with_urls(json.loads(row.body or "{}"), URL_FIELDS, _on_this_host)
    headers = _with_urls(json.loads(row.headers or "{}"), URL_HEADERS, _on_this_host)
    return body, row.status, {**headers, REPLAYED: "true"}


def claim(user: User, key: str, data: Mapping[str, Any]) -> Answer | None:
    """Claim ``key`` for this create, or return the stored answer to send instead.

    Returns None when the caller should go ahead: the claim is flushed in the
    current transaction, and ``remember`` fills in its answer before the commit.
    """
    print_ = fingerprint(data)
    user_id = user.id
    row = _live(user_id, key)
    if row is not None:
        return _replay(row, print_)
    db.session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.user_id == user_id, IdempotencyKey.created < utcnow() - LIFETIME
        )
    )
    claimed = IdempotencyKey(user_id=user_id, client_key=key, fingerprint=print_)
    try:
        # Flushed in a savepoint: it waits here while another request holds the same key,
        # and when that request made the row, only the savepoint is rolled back.
        with db.session.begin_nested():
            db.session.add(claimed)
    except IntegrityError as exc:
        if not is_unique_violation(exc):
            raise
        row = _live(user_id, key)
        if row is None:  # that request's row is not visible: it is still at work
            _in_progress()
        return _replay(row, print_)
    g.idempotency_claim = claimed
    return None


def remember(body: dict[str, Any], status: int, headers: dict[str, str]) -> None:
    """Store the answer on this request's claim, if it made one; the caller commits."""
    claimed = g.pop("idempotency_claim", None)
    if claimed is not None:
        claimed.status = status
        claimed.body = json.dumps(_with_urls(body, URL_FIELDS, _path), ensure_ascii=False)
        claimed.headers = json.dumps(_with_urls(headers, URL_HEADERS, _path))
