"""Numbers sent by clients (query parameters, Range and length headers), read with one strict
grammar: ASCII digits only.

`str.isdigit()` and the regular expression `\\d` accept superscripts, circled and non-Latin
digits that `int()` then refuses or reads, and `int()` refuses strings over 4,300 digits: either
would turn a client's mistake into a server error.
"""

from __future__ import annotations

import re

_DIGITS = re.compile(r"[0-9]+")
# Leading zeros removed, a number of this many digits or fewer converts in constant time and
# is below 2**63: larger ones saturate.
_SAFE_DIGITS = 18


def is_decimal(text: str) -> bool:
    """Only ASCII digits, at least one."""
    return _DIGITS.fullmatch(text) is not None


def parse_decimal(text: str, ceiling: int) -> int | None:
    """The non-negative whole number `text` spells in ASCII digits, capped at `ceiling`; None
    when it is anything else. Any length is read without converting a huge string."""
    if not is_decimal(text):
        return None
    significant = text.lstrip("0")
    if len(significant) > _SAFE_DIGITS:
        return ceiling
    return min(int(significant or "0"), ceiling)
