"""URL slugs made from names, readable in any script."""

import re
import unicodedata

from catalog.models import SLUG_MAX

_NOT_WORD = re.compile(r"[^\w]+")


def slugify(name: str) -> str:
    """Return a lower-case, hyphenated slug for ``name``; letters of any script are kept.

    Accents on Latin letters are dropped ("Crème brûlée" -> "creme-brulee"); other
    scripts stay as they are ("Ручка" -> "ручка"). An empty result becomes "item".
    """
    decomposed = unicodedata.normalize("NFKD", name)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    slug = _NOT_WORD.sub("-", unicodedata.normalize("NFC", stripped).lower())
    slug = slug.replace("_", "-").strip("-")
    slug = re.sub("-{2,}", "-", slug)
    return slug[:SLUG_MAX].rstrip("-") or "item"
