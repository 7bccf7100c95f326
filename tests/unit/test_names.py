from __future__ import annotations

import pytest

from dockyard.oci.names import is_valid_name, is_valid_tag


@pytest.mark.parametrize(
    "name", ["app", "org/team/app", "a.b_c__d-e---f", "library/ubuntu", "x" * 255, "a1/b2"]
)
def test_names_of_the_spec_grammar_are_valid(name: str) -> None:
    assert is_valid_name(name)


@pytest.mark.parametrize(
    "name", ["App", "/app", "app/", "a//b", "a_-b", "-a", "a..b", "x" * 256, "", "a b", "a___b"]
)
def test_names_outside_the_grammar_are_invalid(name: str) -> None:
    assert not is_valid_name(name)


@pytest.mark.parametrize("tag", ["latest", "v1.0.0", "_x", "A-b_c.d", "x" * 128])
def test_valid_tags(tag: str) -> None:
    assert is_valid_tag(tag)


@pytest.mark.parametrize("tag", ["", ".hidden", "-x", "x" * 129, "a/b", "a:b"])
def test_invalid_tags(tag: str) -> None:
    assert not is_valid_tag(tag)
