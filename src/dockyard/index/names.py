"""Namespaces: who a repository name belongs to, for permission purposes."""

from __future__ import annotations

import re

# The namespace of official images; only site administrators (and its collaborators) write there.
LIBRARY = "library"
# Names no account or organisation may take.
RESERVED = frozenset({LIBRARY, "api", "v2", "token", "healthz", "readyz"})
# One component of a repository name (lowercase, no `__`), 2 to 64 characters.
_ACCOUNT = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$")


def canonical(name: str) -> str:
    """`ubuntu` is `library/ubuntu`, as on Docker Hub; other names are unchanged."""
    return name if "/" in name else f"{LIBRARY}/{name}"


def namespace_of(name: str) -> str:
    return canonical(name).split("/", 1)[0]


def is_valid_account_name(name: str) -> bool:
    return 2 <= len(name) <= 64 and _ACCOUNT.match(name) is not None
