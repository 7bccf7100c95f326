"""The Jinja2 environment: autoescaped templates from the package, and the filters pages use
(sizes in human units, relative times, Markdown)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from dockyard.web import markdown

_UNITS = ("B", "KB", "MB", "GB", "TB", "PB")


def human_size(size: int | None) -> str:
    """Decimal units, as docker prints them: 1.2 MB."""
    if size is None:
        return "unknown"
    value = float(size)
    for unit in _UNITS:
        if value < 1000 or unit == _UNITS[-1]:
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def relative_time(moment: datetime | None, now: datetime | None = None) -> str:
    if moment is None:
        return "never"
    seconds = ((now or datetime.now(UTC)) - moment).total_seconds()
    if seconds < 0:
        return "just now"
    for limit, size, unit in (
        (60, 1, "second"),
        (3600, 60, "minute"),
        (86400, 3600, "hour"),
        (30 * 86400, 86400, "day"),
        (365 * 86400, 30 * 86400, "month"),
    ):
        if seconds < limit:
            count = int(seconds // size)
            return "just now" if unit == "second" and count < 10 else _ago(count, unit)
    return _ago(int(seconds // (365 * 86400)), "year")


def _ago(count: int, unit: str) -> str:
    return f"{count} {unit}{'' if count == 1 else 's'} ago"


def exact_time(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def iso_time(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(UTC).isoformat()


def short_digest(digest: str) -> str:
    algorithm, _, hexadecimal = digest.partition(":")
    return f"{algorithm}:{hexadecimal[:12]}" if hexadecimal else digest


class Templates:
    def __init__(self, static_url: Callable[[str], str]) -> None:
        self.environment = Environment(
            loader=PackageLoader("dockyard.web", "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.environment.filters.update(
            size=human_size,
            ago=relative_time,
            exact=exact_time,
            iso=iso_time,
            markdown=markdown.render,
            short_digest=short_digest,
        )
        self.environment.globals["static"] = static_url

    def render(self, name: str, context: dict[str, Any]) -> str:
        return self.environment.get_template(name).render(context)
