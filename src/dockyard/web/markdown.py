"""Full descriptions: Markdown rendered by markdown-it-py (raw HTML kept as text), then cleaned
by nh3 against an allow-list, so no script, event handler, style or `javascript:` link survives
whatever the text holds (docs/decisions/0019-web-ui.md)."""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

_renderer = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")

TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5",
    "h6", "hr", "i", "kbd", "li", "ol", "p", "pre", "s", "strong", "sub", "sup", "table",
    "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
ATTRIBUTES = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}, "ol": {"start"}}
# Images are left out: they would be fetched from other hosts, which the CSP forbids anyway.
URL_SCHEMES = {"http", "https", "mailto"}


def render(text: str) -> Markup:
    html = _renderer.render(text)
    cleaned = nh3.clean(
        html,
        tags=TAGS,
        attributes=ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
    return Markup(cleaned)
