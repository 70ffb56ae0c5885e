"""Opaque cursors for keyset pagination: where the next page of items starts.

A cursor encodes the id of the last item a page showed; the next page is the
items with larger ids. Items added meanwhile get larger ids still, so a client
walking the pages sees every item that existed when it started exactly once.
Any string of the documented form is a position, so none is refused once it
has the right shape: one past the end is simply an empty page.
"""

import string

from catalog.models import ID_MAX

# Base 36, at most 12 digits.
CURSOR_MAX = 12
CURSOR_PATTERN = rf"^[0-9a-z]{{1,{CURSOR_MAX}}}$"
_DIGITS = string.digits + string.ascii_lowercase


class CursorError(ValueError):
    """A cursor this API did not issue."""


def encode_cursor(after_id: int) -> str:
    """Return the cursor for the page that starts after the item ``after_id``."""
    digits = ""
    while True:
        after_id, digit = divmod(after_id, 36)
        digits = _DIGITS[digit] + digits
        if not after_id:
            return digits


def decode_cursor(cursor: str) -> int:
    """Return the item id ``cursor`` encodes; raise ``CursorError`` for anything else."""
    if not (1 <= len(cursor) <= CURSOR_MAX) or any(c not in _DIGITS for c in cursor):
        raise CursorError("Not a cursor from a `next` link.")
    # A position past the largest id is past every item.
    return min(int(cursor, 36), ID_MAX)
