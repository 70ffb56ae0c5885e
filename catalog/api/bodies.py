"""How the API reads a request body: once, strictly, and never with a 500.

Python's ``json.loads`` reads more than JSON, and fails in ways a client can
provoke: it takes ``NaN`` and ``Infinity``, reads ``1e999`` as infinity, raises
ValueError past 4,300 digits (the integer conversion limit) and RecursionError
a few hundred arrays deep, and of a member name given twice it silently keeps
the last, where a proxy or another parser may keep the first. So the API reads
bodies as I-JSON (RFC 7493), the profile of JSON meant for this: UTF-8, member
names unique, no lone surrogates, numbers an IEEE double holds exactly. A body
outside it is a 400 that says what is wrong, before any schema sees it.

flask-smorest hands every ``@bp.arguments`` body to its blueprint's webargs
parser, and the API's blueprint uses ``Blueprint`` from here, so ``load_json``
below is the one place a body is parsed.
"""

import json
import math
from typing import Any, NoReturn

import flask_smorest
import marshmallow as ma
from flask import Request
from flask import abort as abort_with
from webargs import core
from webargs.flaskparser import FlaskParser, abort, is_json_request

# Request bodies are a name and a description: a few kilobytes at most.
BODY_MAX = 16 * 1024
# I-JSON's integers: those a double holds exactly, as JavaScript's Number.MAX_SAFE_INTEGER.
INTEGER_MAX = 2**53 - 1
_INTEGER_DIGITS = len(str(INTEGER_MAX))


class NotIJson(ValueError):
    """A body that is not I-JSON; ``str()`` says why, for people."""


def _constant(name: str) -> NoReturn:
    raise NotIJson(f"{name} is not a JSON value; numbers must be finite.")


def _integer(text: str) -> int:
    # Checked before int(): past 4,300 digits int() raises, and far less is already too big.
    if len(text.lstrip("-")) > _INTEGER_DIGITS or abs(value := int(text)) > INTEGER_MAX:
        raise NotIJson(f"A number is outside ±{INTEGER_MAX}, the integers a double holds exactly.")
    return value


def _float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise NotIJson("A number is too large for a double (at most about 1.8e308).")
    return value


def _name(key: str) -> str:
    """Return ``key`` quoted for a message, shortened, with anything odd escaped."""
    shown = key if len(key) <= 40 else key[:40] + "…"
    return json.dumps(shown)


def _object(pairs: list[tuple[str, object]]) -> dict[str, object]:
    found = dict(pairs)
    if len(found) != len(pairs):
        seen = set()
        for key, _ in pairs:
            if key in seen:
                raise NotIJson(
                    f"The member {_name(key)} appears twice in one object; give it once."
                )
            seen.add(key)
    return found


def _check_text(document: object) -> None:
    """Raise ``NotIJson`` if any string or member name in ``document`` has a lone surrogate.

    The escape ``\\ud800`` is valid JSON but stands for no character: such text cannot
    be stored, encoded as UTF-8, or sent on. Walked without recursion: the parser
    already bounded the depth, and this walk need not come near Python's limit.
    """
    pending = [document]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            pending.extend(value)
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
        elif isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise NotIJson(
                    "A string holds a lone surrogate escape (such as \\ud800), which is no "
                    "character; escape characters beyond U+FFFF as a pair, or send them as UTF-8."
                ) from None


def read_json(body: bytes) -> Any:
    """Return ``body`` parsed as I-JSON; raise ``NotIJson`` saying why it is not."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotIJson(f"The body is not UTF-8 (from byte {exc.start} on).") from None
    if text.startswith("\ufeff"):
        raise NotIJson("The body starts with a byte order mark; send the JSON without one.")
    try:
        document = json.loads(
            text,
            parse_constant=_constant,
            parse_int=_integer,
            parse_float=_float,
            object_pairs_hook=_object,
        )
    except NotIJson:
        raise
    except json.JSONDecodeError as exc:
        raise NotIJson(f"The body is not JSON: {exc.msg} (at character {exc.pos}).") from None
    except RecursionError:
        raise NotIJson("The body is nested too deeply; an item is one flat object.") from None
    _check_text(document)
    return document


class StrictParser(FlaskParser):
    """webargs' Flask parser, reading JSON bodies as I-JSON within ``BODY_MAX`` bytes."""

    def load_json(self, req: Request, schema: ma.Schema) -> Any:
        """Return the body parsed, ``missing`` when there is none, or abort with 400 or 413."""
        if not is_json_request(req):
            return core.missing
        body = req.get_data(cache=True)
        # A body sent without Content-Length (chunked) is read only up to the request's
        # max_content_length, which routes.py sets one byte past BODY_MAX: a body that
        # long is too large, not one cut short to look like broken JSON.
        if len(body) > BODY_MAX:
            abort_with(413, description=too_large())
        if not body:
            return core.missing
        try:
            return read_json(body)
        except NotIJson as exc:
            # As webargs reports a body it cannot parse: a message for the body as a whole.
            abort(400, exc=exc, messages={"json": [str(exc)]})


def too_large() -> str:
    """Say how large an API body may be."""
    return f"Send at most {BODY_MAX} bytes; an item fits in far less."


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's ``Blueprint``, reading bodies with ``StrictParser``."""

    ARGUMENTS_PARSER = StrictParser()
