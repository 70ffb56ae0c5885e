"""What a search says: the syntax of PostgreSQL's ``websearch_to_tsquery``, read once for both
databases.

A search is words, "quoted phrases", ``or`` between alternatives, and ``-`` before a word
or a phrase that an item must not hold. Words next to each other must all match; ``or``
binds looser than that, so ``tent stove or lamp`` is (tent and stove) or lamp. A chunk
without spaces that holds several words (``jacket-waterproof``, ``3.5``) is a phrase, as
PostgreSQL's parser makes it.

``parse`` reads what was typed into ``Alternatives``, then ``websearch`` writes it back for
PostgreSQL, every phrase quoted, and ``fts5`` writes it as a SQLite FTS5 MATCH expression,
every phrase quoted there too: FTS5's own operators (``AND``, ``NEAR``, ``*``, ``^``,
``column:``) typed by a user are then words, never syntax. Both databases see the same
words, split the same way, so that the same search finds the same items on both.

What is dropped, on both databases, as PostgreSQL would: PostgreSQL's English stop words
(a word or a phrase of stop words alone, such as ``the`` or ``"or"``), punctuation, and an
alternative with nothing it must hold (``-jacket`` alone, or the ``-stove`` of ``tent or
-stove``): FTS5 cannot list every item without a word, and such a search would read them
all. A search left with nothing finds nothing.
"""

import re
from dataclasses import dataclass

# PostgreSQL's English stop words (tsearch_data/english.stop): its "english" configuration
# drops these from documents and searches alike.
_ENGLISH_STOP = """
    i me my myself we our ours ourselves you your yours yourself yourselves he him his
    himself she her hers herself it its itself they them their theirs themselves what which
    who whom this that these those am is are was were be been being have has had having do
    does did doing a an the and but if or because as until while of at by for with about
    against between into through during before after above below to from up down in out on
    off over under again further then once here there when where why how all any both each
    few more most other some such no nor not only own same so than too very s t can will
    just don should now
"""
STOP_WORDS = frozenset(_ENGLISH_STOP.split())

# A term: an optional "-", then a quoted phrase (to the closing quote, or the end) or a run
# of anything but spaces and quotes.
_TERM = re.compile(r'(-?)(?:"([^"]*)"?|([^\s"]+))')
# A word, as FTS5's unicode61 tokenizer splits text: letters and digits; "_" separates.
_WORD = re.compile(r"[^\W_]+")
# What PostgreSQL's parser may read as part of one word, between letters or digits.
_JOINED = re.compile(r"(?<=[^\W_])[.@/](?=[^\W_])")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Phrase:
    """Words that must appear one after the other, or, when ``excluded``, must not.

    ``text`` is the phrase as PostgreSQL reads it: as typed, lower-cased, with what joins
    the words of a decimal number, an e-mail address, a host name or a path kept (PostgreSQL
    indexes ``3.5`` as one word, where FTS5 indexes ``3`` and ``5``) and everything else
    that is not a letter or a digit a space.
    """

    words: tuple[str, ...]
    excluded: bool = False
    text: str = ""


# Any one of the alternatives matches; each matches when all its phrases do.
Alternatives = tuple[tuple[Phrase, ...], ...]


def parse(q: str) -> Alternatives:
    """Return what the search ``q`` asks for: alternatives, each a set of phrases."""
    alternatives: list[list[Phrase]] = [[]]
    for match in _TERM.finditer(q):
        excluded, quoted, bare = match.group(1) == "-", match.group(2), match.group(3)
        if quoted is None and not excluded and bare.lower() == "or":
            alternatives.append([])
            continue
        text = quoted if quoted is not None else bare
        words = tuple(word.lower() for word in _WORD.findall(text))
        if all(word in STOP_WORDS for word in words):
            continue
        alternatives[-1].append(Phrase(words, excluded, _postgresql_text(text)))
    return tuple(
        tuple(phrases) for phrases in alternatives if any(not phrase.excluded for phrase in phrases)
    )


def _postgresql_text(text: str) -> str:
    joins = {match.start() for match in _JOINED.finditer(text)}
    kept = "".join(
        char if (char.isalnum() and char != "_") or i in joins else " "
        for i, char in enumerate(text)
    )
    return _SPACES.sub(" ", kept).strip().lower()


def websearch(alternatives: Alternatives) -> str:
    """Return ``alternatives`` in ``websearch_to_tsquery``'s syntax, every phrase quoted."""
    return " or ".join(
        " ".join(f'{"-" if p.excluded else ""}"{p.text}"' for p in phrases)
        for phrases in alternatives
    )


def _quoted(phrase: Phrase) -> str:
    # The words hold only letters and digits, so no quote needs doubling.
    return f'"{" ".join(phrase.words)}"'


# FTS5 reads an empty phrase as matching nothing.
NOTHING = '""'


def fts5(alternatives: Alternatives, column: str | None = None) -> str:
    """Return ``alternatives`` as an FTS5 MATCH expression.

    With ``column``, the expression matches the rows whose ``column`` holds every phrase
    of an alternative that must be there (the excluded ones are left out): the page ranks
    those first.
    """
    if not alternatives:
        return NOTHING
    parts = []
    for phrases in alternatives:
        held = " AND ".join(_quoted(p) for p in phrases if not p.excluded)
        if column is not None:
            parts.append(f"({held})")
            continue
        parts.append(f"(({held}){''.join(f' NOT {_quoted(p)}' for p in phrases if p.excluded)})")
    expression = " OR ".join(parts)
    return expression if column is None else f"{column} : ({expression})"
