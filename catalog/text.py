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
import sys
import unicodedata

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


# Names: what may not hide in them, and the one form they are kept in.
#
# A name is shown as a title and becomes a URL, so it must read as what it is. Unicode's
# format characters (category Cf) draw nothing, or change how the text around them is
# drawn: the bidi controls (U+202E RIGHT-TO-LEFT OVERRIDE shows "txt.exe" as "exe.txt"),
# the zero-width space, the word joiner, the soft hyphen, the byte-order mark, the tags.
# The Hangul fillers are letters drawn as nothing. A name holding any of them is refused,
# with the characters named. Two format characters are kept: the zero-width joiner and
# non-joiner, which emoji sequences (👩‍🔬) and the spelling of Persian and of Indic
# scripts need; slugs leave them out (catalog.slugs), so a name cannot differ from
# another by them alone. Accepted names are kept in NFC, so that one text has one form.

# Every bidi control: all are Cf today; listed so that this stays true whatever Unicode does.
BIDI_CONTROLS = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
JOINERS = "\u200c\u200d"
_FILLERS = "\u115f\u1160\u3164\uffa0"


def _class_body(codes: list[int]) -> str:
    """Write ``codes`` as the body of a character class, in runs, for re and ECMA-262.

    Characters of the Basic Multilingual Plane are written ``\\uXXXX``; the others are
    written as themselves, which both dialects read as one character (ECMA-262 with
    its ``u`` flag, as JSON Schema validators use it).
    """

    def write(code: int) -> str:
        return f"\\u{code:04x}" if code <= 0xFFFF else chr(code)

    runs: list[tuple[int, int]] = []
    for code in sorted(set(codes)):
        if runs and runs[-1][1] == code - 1:
            runs[-1] = (runs[-1][0], code)
        else:
            runs.append((code, code))
    return "".join(write(a) if a == b else f"{write(a)}-{write(b)}" for a, b in runs)


def _invisible_codes() -> list[int]:
    joiners = {ord(c) for c in JOINERS}
    formats = [
        code
        for code in range(sys.maxunicode + 1)
        if unicodedata.category(chr(code)) == "Cf" and code not in joiners
    ]
    bidi = [code for c in re.findall(r".-.|.", BIDI_CONTROLS) for code in _expand(c)]
    return [*formats, *bidi, *(ord(c) for c in _FILLERS)]


def _expand(run: str) -> range:
    return range(ord(run[0]), ord(run[-1]) + 1)


# What a name may not hold besides control characters, as the body of a character class.
INVISIBLES = _class_body(_invisible_codes())
_INVISIBLE = re.compile(f"[{INVISIBLES}]")


def invisible_characters(text: str) -> list[str]:
    """Return the characters of ``text`` that a name may not hold (see above), each once."""
    return list(dict.fromkeys(_INVISIBLE.findall(text)))


def describe(c: str) -> str:
    """Name one character as people can look it up: "U+202E RIGHT-TO-LEFT OVERRIDE"."""
    name = unicodedata.name(c, "")
    return f"U+{ord(c):04X} {name}" if name else f"U+{ord(c):04X}"


def invisible_message(text: str) -> str | None:
    """Say which invisible or direction-changing characters ``text`` holds, or None."""
    found = invisible_characters(text)
    if not found:
        return None
    shown = ", ".join(describe(c) for c in found[:3]) + (", …" if len(found) > 3 else "")
    return (
        "Remove the invisible or direction-changing characters from the name "
        f"(they make it read as something else): {shown}."
    )


def is_blank(text: str) -> bool:
    """Tell whether ``text`` shows nothing: only spaces and joiners (or nothing at all)."""
    return all(c.isspace() or c in JOINERS for c in text)


def nfc(text: str) -> str:
    """Return ``text`` in Unicode's composed normal form (NFC): one text, one form."""
    return unicodedata.normalize("NFC", text)
