"""What text may hold: the characters that names, descriptions, searches and paths refuse.

A control character is one of Unicode's category Cc, U+0000 to U+001F and U+007F to
U+009F. None belongs in a name, a label, a search or a path: PostgreSQL refuses NUL
outright, XML (the Atom feed) cannot carry most of the rest, and a browser strips
some of them from a URL, reading what is left as another one. Multi-line text (a
description) may hold tab, line feed and carriage return, and nothing else of them.

The character classes are written for both Python's ``re`` and the ECMA-262 dialect of
JSON Schema, so that the API's document (catalog.api.schemas) says exactly what the
forms (catalog.forms) and everything else here accept.
"""

import re

# Every control character, as the body of a character class.
CONTROLS = r"\x00-\x1f\x7f-\x9f"
# The control characters multi-line text may not hold: all but tab, line feed and return.
TEXT_CONTROLS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
# The ones it may: what keeps text from being one line.
LINE_CONTROLS = "\t\n\r"

_CONTROL = re.compile(f"[{CONTROLS}]")
_TEXT_CONTROL = re.compile(f"[{TEXT_CONTROLS}]")
# What XML 1.0 cannot carry at all (C1 controls it can); the feed drops it from old rows.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def storable(text: str) -> bool:
    """Tell whether ``text`` can be stored or compared in SQL: PostgreSQL text cannot hold NUL."""
    return "\x00" not in text


def has_controls(text: str) -> bool:
    """Tell whether ``text`` holds any control character, tab and line breaks included."""
    return _CONTROL.search(text) is not None


def has_text_controls(text: str) -> bool:
    """Tell whether ``text`` holds a control character other than tab and line breaks."""
    return _TEXT_CONTROL.search(text) is not None


def is_one_line(text: str) -> bool:
    """Tell whether ``text`` holds no tab and no line break."""
    return not any(c in LINE_CONTROLS for c in text)


def without_controls(text: str) -> str:
    """Return ``text`` with each control character replaced by a space."""
    return _CONTROL.sub(" ", text)


def xml_text(text: str) -> str:
    """Return ``text`` without the characters XML 1.0 cannot carry."""
    return _NOT_XML.sub("", text)
