"""The web UI in a real browser (headless Chromium, off the network): an account's whole path
from sign-up to a pushed multi-platform image, starred and commented; markup in what users write
stays text; private repositories stay hidden."""

from __future__ import annotations

import itertools
import re
import uuid
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.support.clients import Skopeo
from tests.support.images import make_image, push_image
from tests.support.index import ADMIN_PASSWORD, IndexServer
from tests.support.oci_layout import Layout
from tests.support.webhook_receiver import webhook_receiver
from tests.web.conftest import screenshot

PASSWORD = "a-good-password-1"
_names = itertools.count()
PAYLOADS = (
    "<script>alert('script')</script>",
    "<img src=x onerror=\"alert('img')\">",
    "[click me](javascript:alert('link'))",
    "<a href=\"javascript:alert('a')\">plain link</a>",
)


def fresh(stem: str) -> str:
    return f"{stem}{next(_names)}{uuid.uuid4().hex[:4]}"


def sign_up(page: Page, username: str) -> None:
    page.goto("/signup")
    page.get_by_label("Username").fill(username)
    page.get_by_label("E-mail").fill(f"{username}@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(username)


def sign_in(page: Page, username: str, password: str = PASSWORD) -> None:
    page.goto("/signin")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def create_token(page: Page, name: str) -> str:
    page.goto("/account/tokens")
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("write").check()
    page.get_by_role("button", name="Create").click()
    secret = page.locator("#new-secret").inner_text().strip()
    assert secret.startswith("dckr_")
    return secret


def multi_platform_layout(path: Path, tag: str) -> Layout:
    layout = Layout(path)
    nonce = uuid.uuid4().hex
    manifests = [
        layout.add_image(
            [
                {"etc/os-release": f"NAME=web-{architecture}\n{nonce}\n".encode()},
                {"app/data.bin": (architecture + nonce).encode() * 4096},
            ],
            architecture=architecture,
        )
        for architecture in ("amd64", "arm64")
    ]
    layout.tag(tag, layout.add_index(manifests))
    return layout


def test_sign_up_push_with_a_token_find_star_and_comment(
    page: Page, web: IndexServer, skopeo: Skopeo, tmp_path: Path
) -> None:
    user = fresh("alice")
    sign_up(page, user)
    secret = create_token(page, "ci")
    name = f"{user}/webapp"
    layout = multi_platform_layout(tmp_path / "layout", "1.0")
    skopeo.copy(
        f"oci:{layout.path}:1.0",
        f"docker://{web.server.host}/{name}:1.0",
        "--all",
        "--dest-creds",
        f"{user}:{secret}",
    )
    web.catalogued(name)

    page.goto("/")
    screenshot(page, "explore")
    page.get_by_label("Search repositories by name or description").fill("webapp")
    page.get_by_label("Search repositories by name or description").press("Enter")
    link = page.get_by_role("link", name=name)
    expect(link).to_be_visible()
    screenshot(page, "search")
    link.click()

    expect(page.get_by_role("heading", level=1)).to_contain_text(name)
    expect(page.locator("#pull-command")).to_have_text(f"docker pull {web.server.host}/{name}")
    expect(page.get_by_role("button", name="Copy")).to_be_visible()  # shown by the script
    tags = page.locator("table.tags")
    expect(tags).to_contain_text("linux/amd64")
    expect(tags).to_contain_text("linux/arm64")
    expect(tags).to_contain_text(user)  # pushed by

    page.get_by_role("button", name="☆ Star").click()
    expect(page.get_by_role("button", name="★ Unstar")).to_be_visible()
    expect(page.locator("header.repository")).to_contain_text("1 star")

    page.get_by_label("Add a comment").fill("Works on my arm64 board.")
    page.get_by_role("button", name="Comment").click()
    comment = page.locator("li.comment").first
    expect(comment).to_contain_text("Works on my arm64 board.")
    screenshot(page, "repository")
    comment.locator("summary", has_text="Edit").click()
    comment.get_by_label("Edit your comment").fill("Works on amd64 and arm64.")
    comment.get_by_role("button", name="Save").click()
    expect(page.locator("li.comment").first).to_contain_text("Works on amd64 and arm64.")
    expect(page.locator("li.comment").first).to_contain_text("edited")
    page.locator("li.comment").first.get_by_role("button", name="Delete").click()
    expect(page.locator("ol.comments")).to_contain_text("No comments yet.")
    assert page.dialogs == ["confirm: Delete this comment?"]  # type: ignore[attr-defined]

    page.get_by_role("link", name="1.0").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{name}:1.0")
    platforms = page.locator("ul.platforms")
    expect(platforms).to_contain_text("linux/amd64")
    expect(platforms).to_contain_text("linux/arm64")
    expect(page.locator("table.layers tbody tr")).to_have_count(2)
    expect(page.locator("#config")).to_contain_text("linux/amd64")
    expect(page.get_by_text("PATH=/")).to_be_visible()
    screenshot(page, "tag")
    platforms.get_by_role("link", name="linux/arm64").click()
    expect(page.locator("#config")).to_contain_text("linux/arm64")

    page.goto("/account/stars")
    expect(page.get_by_role("link", name=name)).to_be_visible()


def test_markup_in_descriptions_comments_and_queries_stays_inert(
    page: Page, web: IndexServer
) -> None:
    user = fresh("mallory")
    sign_up(page, user)
    name = f"{user}/trap"
    with web.registry((user, PASSWORD), f"repository:{name}:pull,push") as registry:
        push_image(registry, name, make_image(name), "v1")
    web.catalogued(name)
    text = "\n\n".join(PAYLOADS)
    with web.api((user, PASSWORD)) as api:
        change = {"description": PAYLOADS[1][:100], "full_description": text}
        assert api.patch(f"/api/repositories/{name}", json=change).status_code == 200
    page.goto(f"/r/{name}")
    for payload in PAYLOADS:
        page.get_by_label("Add a comment").fill(payload)
        page.get_by_role("button", name="Comment").click()
    page.goto(f"/r/{name}")
    expect(page.locator("li.comment")).to_have_count(len(PAYLOADS))
    expect(page.locator("p.description")).to_have_text(PAYLOADS[1][:100])
    page.goto(f"/search?q={PAYLOADS[0]}")
    page.goto(f"/r/{name}")

    assert page.dialogs == []  # type: ignore[attr-defined]
    assert page.locator("main script, main img, main [onerror]").count() == 0
    assert page.locator("script").count() == 1  # the site's own app.js
    hrefs = page.locator("main a").evaluate_all("links => links.map(a => a.href)")
    assert not [href for href in hrefs if href.lower().startswith("javascript:")]
    expect(page.locator(".markdown")).to_contain_text("click me")
    comments = page.locator("li.comment .body").all_inner_texts()
    assert sorted(comments) == sorted(PAYLOADS)


def test_a_private_repository_is_hidden_from_a_second_user(page: Page, web: IndexServer) -> None:
    owner, other = fresh("owner"), fresh("bob")
    sign_up(page, owner)
    name = f"{owner}/hidden"
    with web.registry((owner, PASSWORD), f"repository:{name}:pull,push") as registry:
        push_image(registry, name, make_image(name), "v1")
    web.catalogued(name)
    with web.api((owner, PASSWORD)) as api:
        assert api.patch(f"/api/repositories/{name}", json={"visibility": "private"}).is_success
    page.goto(f"/r/{name}")
    expect(page.locator("h1 .badge")).to_have_text("private")

    page.get_by_role("button", name="Sign out").click()
    sign_up(page, other)
    page.goto("/search?q=hidden")
    expect(page.get_by_role("link", name=name)).to_have_count(0)
    response = page.goto(f"/r/{name}")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
    assert re.search(name, page.content()) is not None  # only in the message naming the path


def test_settings_make_private_add_a_collaborator_a_webhook_and_delete_a_tag(
    page: Page, web: IndexServer
) -> None:
    owner, other = fresh("keeper"), fresh("carol")
    sign_up(page, other)
    page.get_by_role("button", name="Sign out").click()
    sign_up(page, owner)
    name = f"{owner}/vault"
    with web.registry((owner, PASSWORD), f"repository:{name}:pull,push") as registry:
        for tag in ("v1", "v2"):
            push_image(registry, name, make_image(f"{name}:{tag}"), tag)
    web.catalogued(name)

    page.goto(f"/r/{name}")
    page.get_by_role("link", name="Settings").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Settings of {name}")
    page.get_by_label("Private").check()
    page.get_by_label("Short description").fill("Kept safe")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    expect(page.get_by_label("Private")).to_be_checked()

    with webhook_receiver() as receiver:
        page.get_by_label("URL", exact=True).fill(receiver.url)
        page.get_by_label("Name", exact=True).fill("deploy")
        page.get_by_role("button", name="Add webhook").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Webhook deploy")
        secret = page.locator("#hook-secret").inner_text().strip()
        page.get_by_role("button", name="Sign out").click()

        sign_in(page, other)
        page.goto("/search?q=vault")
        expect(page.get_by_role("link", name=name)).to_have_count(0)
        response = page.goto(f"/r/{name}")
        assert response is not None and response.status == 404
        page.get_by_role("button", name="Sign out").click()

        sign_in(page, owner)
        page.goto(f"/r/{name}/-/settings")
        page.get_by_label("User", exact=True).fill(other)
        page.get_by_label("Role", exact=True).select_option("read")
        page.get_by_role("button", name="Add", exact=True).click()
        expect(page.locator("table.collaborators")).to_contain_text(other)
        screenshot(page, "repository-settings")
        page.get_by_role("button", name="Sign out").click()

        sign_in(page, other)
        page.goto("/search?q=vault")
        expect(page.get_by_role("link", name=name)).to_be_visible()
        response = page.goto(f"/r/{name}")
        assert response is not None and response.status == 200
        expect(page.get_by_role("link", name="Settings")).to_have_count(0)
        page.get_by_role("button", name="Sign out").click()

        sign_in(page, owner)
        with web.registry((owner, PASSWORD), f"repository:{name}:pull,push") as registry:
            push_image(registry, name, make_image(f"{name}:v3"), "v3")
        call = receiver.wait_for(1)[0]
        assert call.signed_by(secret) and call.payload["push_data"]["tag"] == "v3"
        page.goto(f"/r/{name}/-/settings")
        page.get_by_role("link", name="deploy").click()
        for _ in range(100):
            if page.locator(".delivery .state-delivered").count():
                break
            page.wait_for_timeout(100)
            page.reload()
        expect(page.locator(".delivery").first).to_contain_text("delivered")
        expect(page.locator("table.attempts").first).to_contain_text("200")
        screenshot(page, "webhook")

    page.goto(f"/r/{name}/-/tags/v1")
    page.get_by_role("button", name="Delete tag").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{name} private")
    expect(page.locator("table.tags")).not_to_contain_text("v1")
    expect(page.locator("table.tags")).to_contain_text("v2")
    assert any("Delete the tag v1" in d for d in page.dialogs)  # type: ignore[attr-defined]


def test_a_tag_annotation_carrying_markup_stays_inert(page: Page, web: IndexServer) -> None:
    user = fresh("annotator")
    sign_up(page, user)
    name = f"{user}/annotated"
    annotations = {f"org.example.trap{i}": payload for i, payload in enumerate(PAYLOADS)}
    annotations["org.opencontainers.image.source"] = "javascript:alert('source')"
    image = make_image(name, extra={"annotations": annotations})
    with web.registry((user, PASSWORD), f"repository:{name}:pull,push") as registry:
        push_image(registry, name, image, "v1")
    web.catalogued(name)
    page.goto(f"/r/{name}/-/tags/v1")
    table = page.locator("table.annotations")
    for payload in PAYLOADS:
        expect(table).to_contain_text(payload)
    assert page.dialogs == []  # type: ignore[attr-defined]
    assert page.locator("main script, main img, main [onerror]").count() == 0
    hrefs = page.locator("main a").evaluate_all("links => links.map(a => a.href)")
    assert not [href for href in hrefs if href.lower().startswith("javascript:")]


def test_organisation_settings_and_site_administration_pages(page: Page, web: IndexServer) -> None:
    owner, member, org = fresh("founder"), fresh("dev"), fresh("shipyard")
    sign_up(page, member)
    page.get_by_role("button", name="Sign out").click()
    sign_up(page, owner)
    with web.api((owner, PASSWORD)) as api:
        assert api.post("/api/orgs", json={"name": org}).status_code == 201
    page.goto(f"/u/{org}")
    page.get_by_role("link", name="Organisation settings").click()
    page.get_by_label("User", exact=True).fill(member)
    page.locator("#new-member-role").select_option("member")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator("table.members")).to_contain_text(member)
    page.get_by_label("New team").fill("builders")
    page.get_by_role("button", name="Create team").click()
    page.get_by_label("Add to builders").fill(member)
    page.locator("#team-builders").get_by_role("button", name="Add").click()
    expect(page.locator("#team-builders")).to_contain_text(member)
    screenshot(page, "organisation-settings")
    page.get_by_role("button", name="Sign out").click()

    response = page.goto("/-/admin")
    assert response is not None and response.status == 404
    sign_in(page, "admin", ADMIN_PASSWORD)
    page.get_by_role("link", name="Admin", exact=True).click()
    page.get_by_label("Users whose name starts with").fill(member)
    page.get_by_role("button", name="Find").click()
    row = page.locator("table.users tr", has_text=member)
    row.get_by_role("button", name="Disable").click()
    expect(page.locator("table.users tr", has_text=member)).to_contain_text("disabled")
    page.locator("table.users tr", has_text=member).get_by_role("button", name="Enable").click()
    page.goto("/-/admin")
    screenshot(page, "admin-users")
    page.get_by_role("link", name="Storage").click()
    expect(page.locator("table.storage")).to_be_visible()
    page.get_by_role("link", name="Event and webhook queues").click()
    expect(page.get_by_role("heading", name="Registry events")).to_be_visible()
    screenshot(page, "admin-queues")
