"""Repository names and tags, by the grammar of the OCI distribution-spec."""

from __future__ import annotations

import re

# distribution-spec: <name> components joined by "/", each [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*
_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
_NAME = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
_TAG = re.compile(r"^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$")
# Distribution refuses longer names; the spec lets registries set a limit.
MAX_NAME_LENGTH = 255


def is_valid_name(name: str) -> bool:
    return len(name) <= MAX_NAME_LENGTH and _NAME.match(name) is not None


def is_valid_tag(tag: str) -> bool:
    return _TAG.match(tag) is not None
