"""Opaque cursors for keyset pagination: where the next page of items starts.

A cursor encodes the id of the last item a page showed; the next page is the
items with larger ids. Items added meanwhile get larger ids still, so a client
walking the pages sees every item that existed when it started exactly once.
"""

import base64
import binascii

_PREFIX = "after:"
_ID_MAX = 2**31 - 1  # PostgreSQL's integer


class CursorError(ValueError):
    """A cursor this API did not issue."""


def encode_cursor(after_id: int) -> str:
    """Return the cursor for the page that starts after the item ``after_id``."""
    raw = f"{_PREFIX}{after_id}".encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str) -> int:
    """Return the item id ``cursor`` encodes; raise ``CursorError`` for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeError, ValueError):
        raise CursorError("Not a cursor from a `next` link.") from None
    number = raw.removeprefix(_PREFIX)
    if raw == number or not number.isdigit() or not number.isascii() or int(number) > _ID_MAX:
        raise CursorError("Not a cursor from a `next` link.")
    return int(number)
