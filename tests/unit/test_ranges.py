from __future__ import annotations

import pytest

from dockyard.registry.errors import RegistryError
from dockyard.registry.ranges import byte_range


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-9", (0, 9)),
        ("bytes=5-", (5, 99)),
        ("bytes=-10", (90, 99)),
        ("bytes=90-500", (90, 99)),
    ],
)
def test_satisfiable_ranges(header: str, expected: tuple[int, int]) -> None:
    assert byte_range(header, 100) == expected


@pytest.mark.parametrize(
    "header", ["bytes=100-", "bytes=5-2", "items=0-1", "bytes=-", "bytes=0-1,3-4"]
)
def test_unsatisfiable_ranges_are_416(header: str) -> None:
    with pytest.raises(RegistryError) as raised:
        byte_range(header, 100)
    assert raised.value.status == 416
    assert raised.value.headers["Content-Range"] == "bytes */100"
