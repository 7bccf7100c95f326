"""Full descriptions as the web UI renders them: Markdown through markdown-it-py with raw HTML
off, then nh3's allow-list; images, raw HTML, event handlers and `javascript:` links never
survive, while ordinary Markdown does."""

from __future__ import annotations

import pytest

from dockyard.web.markdown import render


def test_markdown_renders_headings_emphasis_code_tables_and_links() -> None:
    html = render(
        "# Title\n\n*it* **works** `code`\n\n| a | b |\n| - | - |\n| 1 | 2 |\n\n[x](https://example.com)"
    )
    assert "<h1>Title</h1>" in html and "<em>it</em>" in html and "<code>code</code>" in html
    assert "<table>" in html and "<td>1</td>" in html
    assert 'href="https://example.com"' in html and 'rel="noopener noreferrer nofollow"' in html


@pytest.mark.parametrize(
    "text",
    [
        "![logo](https://example.com/logo.png)",
        '<img src="https://example.com/x.png">',
        "<img src=x onerror=\"alert('img')\">",
        '![x](javascript:alert(1) "t")',
    ],
)
def test_images_in_markdown_or_raw_html_are_left_out(text: str) -> None:
    html = render(text)
    assert "<img" not in html  # raw HTML stays text: "&lt;img ..."


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert('script')</script>",
        '<div onclick="alert(1)">hi</div>',
        "<style>body{display:none}</style>",
        '<iframe src="https://example.com"></iframe>',
        "<a href=\"javascript:alert('a')\">plain link</a>",
    ],
)
def test_raw_html_is_text_not_markup(text: str) -> None:
    html = render(text)
    for tag in ("<script", "<div", "<style", "<iframe", "<a "):
        assert tag not in html
    assert "&lt;" in html  # shown as the characters it was written with


@pytest.mark.parametrize(
    "text",
    [
        "[click](javascript:alert('link'))",
        "[click](JaVaScRiPt:alert(1))",
        "[click](data:text/html;base64,PHNjcmlwdD4=)",
        "[click](vbscript:msgbox(1))",
        "<javascript:alert(1)>",
    ],
)
def test_links_of_other_schemes_are_no_links(text: str) -> None:
    html = render(text)
    assert "href" not in html  # no link at all, the text as it was written
