"""URL slugs made from names, readable in any script."""

import re
import unicodedata

from catalog.models import SLUG_MAX

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


def slugify(name: str) -> str:
    """Return a lower-case, hyphenated slug for ``name``; letters of any script are kept.

    Accents on Latin letters are dropped ("Crème brûlée" -> "creme-brulee"); other
    scripts stay as they are ("Война" -> "война", "हिन्दी" -> "हिन्दी"). An empty
    result becomes "item".
    """
    text = _drop_latin_accents(name).lower()
    slug = "".join(c if c.isalnum() or unicodedata.category(c) in _MARKS else "-" for c in text)
    slug = re.sub("-{2,}", "-", slug).strip("-")
    return slug[:SLUG_MAX].rstrip("-") or "item"
