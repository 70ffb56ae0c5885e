"""One rule for what text may hold: the forms, the API's patterns and the pages agree on it."""

import re

import pytest
from wtforms.validators import ValidationError

from catalog.api.schemas import MULTILINE, NO_CONTROL, ONE_LINE
from catalog.auth import safe_next
from catalog.forms import printable, single_line
from catalog.text import has_controls, has_text_controls, is_one_line, without_controls, xml_text

# Every control character and its neighbours, the line breaks, and characters far past them.
CHARACTERS = [chr(n) for n in (*range(0x00, 0xA1), 0xAD, 0x2028, 0xFEFF, 0xFFFE, 0x1F600)]


class Field:
    def __init__(self, data):
        self.data = data


def refused(validator, text: str) -> bool:
    try:
        validator(None, Field(text))
    except ValidationError:
        return True
    return False


@pytest.mark.parametrize("c", CHARACTERS, ids=lambda c: f"U+{ord(c):04X}")
def test_every_reader_of_text_refuses_the_same_characters(c):
    control = 0x00 <= ord(c) <= 0x1F or 0x7F <= ord(c) <= 0x9F
    assert has_controls(f"a{c}b") is control
    assert has_text_controls(f"a{c}b") is (control and c not in "\t\n\r")
    assert is_one_line(f"a{c}b") is (c not in "\t\n\r")
    # The forms, and the API's documented patterns, as catalog.text says.
    assert refused(printable, f"a{c}b") is has_text_controls(f"a{c}b")
    assert refused(single_line, f"a{c}b") is not is_one_line(f"a{c}b")
    assert (re.fullmatch(MULTILINE, f"a{c}b") is None) is has_text_controls(f"a{c}b")
    assert (re.fullmatch(NO_CONTROL, f"a{c}b") is None) is control
    assert (re.fullmatch(ONE_LINE, f"a{c}b") is None) is control
    # A search drops them, and a path holding one is not a place to come back to.
    assert has_controls(without_controls(f"a{c}b")) is False
    assert (safe_next(f"/a{c}b") is None) is (control or c == "\\")


def test_the_feed_drops_only_what_xml_cannot_carry():
    assert xml_text("tab\tline\nreturn\r C1\x85 nul\x00 bell\x07 \ufffe\uffff end") == (
        "tab\tline\nreturn\r C1\x85 nul bell  end"
    )
