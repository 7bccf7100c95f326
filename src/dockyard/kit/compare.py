"""Comparing secrets (signatures, tokens) in constant time."""

from __future__ import annotations

import hmac


def same_secret(presented: str, expected: str) -> bool:
    """Whether `presented` is `expected`, in time that does not tell how much of it matched.
    Any text may be presented (a cookie, a form field): `hmac.compare_digest` raises on a
    `str` with non-ASCII characters, so both are compared as UTF-8 (lone surrogates kept)."""
    return hmac.compare_digest(
        presented.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    )
