"""The UI's qualities in Chromium: the main pages fit a phone's width without sideways
scrolling, carry their landmarks and a name for every control, image and link, start with a
keyboard path to the content, and the tags of a page filter as one types (with the rows all
there without JavaScript)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, Route, ViewportSize

from tests.support.images import make_image, push_image
from tests.support.index import ADMIN_PASSWORD, IndexServer
from tests.web.conftest import screenshot

ADMIN = ("admin", ADMIN_PASSWORD)
REPOSITORY = "admin/quality"
TAGS = ("1.0", "1.1", "2.0", "latest")
PHONE: ViewportSize = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def pages(web: IndexServer) -> list[str]:
    """The main pages, with a public repository of a few tags to show."""
    with web.registry(ADMIN, f"repository:{REPOSITORY}:pull,push") as client:
        for tag in TAGS:
            push_image(client, REPOSITORY, make_image(f"quality-{tag}"), tag)
    web.catalogued(REPOSITORY)
    with web.api(ADMIN) as api:
        api.patch(f"/api/repositories/{REPOSITORY}", json={"visibility": "public"})
    return [
        "/",
        "/search?q=quality",
        f"/r/{REPOSITORY}",
        f"/r/{REPOSITORY}/-/tags/latest",
        "/u/admin",
        "/signin",
        "/signup",
    ]


@pytest.fixture
def phone(browser: Browser, web: IndexServer) -> Iterator[Page]:
    context = browser.new_context(base_url=web.url, viewport=PHONE, is_mobile=True)

    def only_the_server(route: Route) -> None:
        if route.request.url.startswith(web.url):
            route.continue_()
        else:
            route.abort()

    context.route("**/*", only_the_server)
    yield context.new_page()
    context.close()


def test_the_main_pages_fit_a_phone_without_sideways_scrolling(
    phone: Page, pages: list[str]
) -> None:
    for path in pages:
        phone.goto(path)
        overflow = phone.evaluate(
            "document.scrollingElement.scrollWidth - document.scrollingElement.clientWidth"
        )
        assert overflow <= 1, f"{path} is {overflow} px wider than the phone"
    phone.goto(f"/r/{REPOSITORY}")
    screenshot(phone, "phone-repository")


# What a screen reader needs of a page: its language, landmarks, and a name for each thing.
_UNNAMED = """() => {
  const named = (element) => {
    if (element.getAttribute("aria-label") || element.getAttribute("aria-labelledby")) return true;
    if (element.labels && element.labels.length) return true;
    return false;
  };
  const found = [];
  for (const control of document.querySelectorAll("input, select, textarea")) {
    if (control.type === "hidden" || control.closest("[hidden]")) continue;
    if (!named(control)) found.push(control.outerHTML.slice(0, 120));
  }
  for (const image of document.querySelectorAll("img")) {
    if (!image.hasAttribute("alt")) found.push(image.outerHTML.slice(0, 120));
  }
  for (const active of document.querySelectorAll("a[href], button")) {
    if (active.closest("[hidden]")) continue;
    if (!active.textContent.trim() && !named(active) && !active.getAttribute("title")) {
      found.push(active.outerHTML.slice(0, 120));
    }
  }
  return found;
}"""


def test_every_page_has_its_landmarks_and_a_name_for_every_control_and_link(
    page: Page, pages: list[str]
) -> None:
    for path in pages:
        page.goto(path)
        assert page.get_attribute("html", "lang") == "en", path
        assert page.locator("main").count() == 1, path
        assert page.locator("header nav").count() >= 1, path
        assert page.locator("h1").count() >= 1, path
        assert page.evaluate(_UNNAMED) == [], path


def test_the_keyboard_reaches_the_content_first_and_sees_where_it_is(
    page: Page, pages: list[str]
) -> None:
    page.goto(f"/r/{REPOSITORY}")
    page.keyboard.press("Tab")
    first = page.evaluate("[document.activeElement.textContent, document.activeElement.href]")
    assert first[0].strip() == "Skip to content" and first[1].endswith("#main")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("", "none")  # a visible focus
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_the_tags_of_a_page_filter_as_one_types(page: Page, pages: list[str]) -> None:
    page.goto(f"/r/{REPOSITORY}")
    rows = page.locator("table.tags tbody tr")
    assert rows.count() == len(TAGS)
    page.get_by_label("Filter the tags on this page").fill("1.")
    visible = [row for row in rows.all() if row.is_visible()]
    assert sorted(row.locator("td").first.inner_text() for row in visible) == ["1.0", "1.1"]
    page.get_by_label("Filter the tags on this page").fill("")
    assert len([row for row in rows.all() if row.is_visible()]) == len(TAGS)


def test_without_javascript_every_row_shows_and_no_filter_is_offered(
    web: IndexServer, pages: list[str]
) -> None:
    html = httpx.get(f"{web.url}/r/{REPOSITORY}", timeout=30).text
    assert html.count("/-/tags/") >= len(TAGS)
    assert '<p class="filter" hidden>' in html
