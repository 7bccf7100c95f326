from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

class PullNotes:
    wants_pulls: bool
    counts_pulls: bool
    share: float
    limit: int
    dropped: int
    def __init__(
        self,
        current_request: ContextVar[Any],
        request_id_key: str,
        grant_key: str,
        limit: int,
    ) -> None: ...
    def __len__(self) -> int: ...
    def pulled(
        self, name: str, digest: str, media_type: str, size: int, tag: str | None, kind: str
    ) -> None: ...
    def take_counts(self) -> dict[str, int]: ...
    def media_types(self) -> set[str]: ...
    def take(
        self,
        constant: Callable[[tuple[Any, ...]], tuple[str, str]],
        second_text: Callable[[int], str],
        prefix: str,
        first: int,
        skip: set[str],
    ) -> tuple[list[str], list[str]]: ...

def write_envelope(bodies: list[str], buffer: bytearray) -> tuple[bytearray, int]: ...
