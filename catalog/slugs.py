"""URL slugs made from names, readable in any script, and distinct for names without letters."""

import hashlib
import re
import unicodedata

import emoji

from catalog.models import SLUG_MAX
from catalog.text import JOINERS, nfc

# A name with nothing a slug keeps ("!!!", "?") is told apart by this many hex digits of
# its hash: "item-" and 32 bits, stable for the name, unlike a counter or a random suffix.
FALLBACK = "item"
_DIGEST_DIGITS = 8
_JOINERS = str.maketrans("", "", JOINERS)

# Marks that are part of a letter in many scripts (Devanagari vowel signs, Thai vowels).
_MARKS = {"Mn", "Mc"}


def _drop_latin_accents(text: str) -> str:
    """Drop the accents on Latin letters only; other scripts' marks change the letter.

    "é" becomes "e", but Cyrillic "й" stays "й" (not "и") and Japanese "ガ" stays "ガ".
    """
    kept = []
    on_latin = False
    for c in unicodedata.normalize("NFKD", text):
        if unicodedata.combining(c):
            if on_latin:
                continue
        else:
            on_latin = unicodedata.name(c, "").startswith("LATIN ")
        kept.append(c)
    return unicodedata.normalize("NFC", "".join(kept))


def _emoji_as_words(text: str) -> str:
    """Write each emoji as its English name: "⚽🎉" -> " soccer_ball  party_popper "."""
    if text.isascii():  # no emoji: most names, and every synthetic one, skip the scan
        return text
    return emoji.demojize(text, delimiters=(" ", " "))


def _fallback(name: str) -> str:
    """Return the slug of a name a slug keeps nothing of: "item-" and a digest of the name."""
    digest = hashlib.sha256(nfc(name.strip()).encode("utf-8")).hexdigest()
    return f"{FALLBACK}-{digest[:_DIGEST_DIGITS]}"


def slugify(name: str) -> str:
    """Return a lower-case, hyphenated slug for ``name``; letters of any script are kept.

    Accents on Latin letters are dropped ("Crème brûlée" -> "creme-brulee"); other
    scripts stay as they are ("Война" -> "война", "हिन्दी" -> "हिन्दी"). Emoji are
    written as their names ("⚽" -> "soccer-ball", "🎉🎉" -> "party-popper-party-popper",
    "👩‍🔬" -> "woman-scientist"). The joiners draw nothing and are left out. A name of
    which nothing is left ("!!!") gets "item-" and eight hex digits of its SHA-256, so
    that such names stay apart: "!!!" and "???" are two items.
    """
    text = _drop_latin_accents(_emoji_as_words(name).translate(_JOINERS)).lower()
    slug = "".join(c if c.isalnum() or unicodedata.category(c) in _MARKS else "-" for c in text)
    slug = re.sub("-{2,}", "-", slug).strip("-")
    return slug[:SLUG_MAX].rstrip("-") or _fallback(name)
