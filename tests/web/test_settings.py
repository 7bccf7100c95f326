"""The settings pages over HTTP: a repository's (visibility, descriptions, collaborators and
teams, webhooks with their deliveries, deleting tags and the repository), an organisation's
(members, owners, teams and what they may use), and the site administration (accounts, storage,
queues), each refused to those the /api refuses."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import httpx

from tests.support.images import make_image, push_image
from tests.support.index import ADMIN_PASSWORD, IndexServer, index_server
from tests.support.receiver import event_receiver
from tests.support.waiting import eventually
from tests.support.web import create_account, post_form, push, sign_in, sign_up
from tests.support.webhook_receiver import webhook_receiver

PASSWORD = "a-good-password-1"
_names = itertools.count()


def fresh(stem: str) -> str:
    return f"{stem}{next(_names)}"


def settings_of(name: str) -> str:
    return f"/r/{name}/-/settings"


def test_an_administrator_changes_visibility_and_descriptions(web: IndexServer) -> None:
    owner = fresh("sowner")
    name = f"{owner}/app"
    with sign_up(web.url, owner, PASSWORD) as client:
        push(web, (owner, PASSWORD), name)
        fields = {
            "visibility": "private",
            "description": "A small app",
            "full_description": "# Hello\r\n\r\nIt *works*.",
        }
        answer = post_form(client, settings_of(name), fields)
        assert answer.status_code == 303
        page = client.get(f"/r/{name}").text
        assert "A small app" in page and "<em>works</em>" in page and "private" in page
        too_long = post_form(client, settings_of(name), {**fields, "description": "x" * 101})
        assert too_long.status_code == 400 and "longer than 100" in too_long.text
    with web.api((owner, PASSWORD)) as api:
        shown = api.get(f"/api/repositories/{name}").json()
    assert shown["visibility"] == "private"
    assert shown["full_description"] == "# Hello\n\nIt *works*."


def test_settings_are_refused_to_others_as_the_api_refuses_them(web: IndexServer) -> None:
    owner, other = fresh("rowner"), fresh("rother")
    create_account(web.url, owner, PASSWORD)
    public, hidden = f"{owner}/open", f"{owner}/closed"
    push(web, (owner, PASSWORD), public)
    push(web, (owner, PASSWORD), hidden)
    with web.api((owner, PASSWORD)) as api:
        assert api.patch(f"/api/repositories/{hidden}", json={"visibility": "private"}).is_success
    with sign_up(web.url, other, PASSWORD) as client, httpx.Client(base_url=web.url) as anonymous:
        assert client.get(settings_of(public)).status_code == 403
        assert client.get(settings_of(hidden)).status_code == 404
        assert client.get(settings_of(f"{owner}/never-pushed")).status_code == 404
        refused = post_form(client, settings_of(public), {"visibility": "private"}, page="/")
        assert refused.status_code == 403
        deleting = post_form(client, f"/r/{public}/-/tags/v1/delete", {}, page="/")
        assert deleting.status_code == 403
        assert anonymous.get(settings_of(public)).status_code == 303  # to the sign-in form
        assert "Settings" not in client.get(f"/r/{public}").text
        assert "Delete tag" not in client.get(f"/r/{public}/-/tags/v1").text
    with web.api((owner, PASSWORD)) as api:
        assert api.get(f"/api/repositories/{public}").json()["visibility"] == "public"


def test_a_collaborator_added_through_the_page_may_pull_then_removed_may_not(
    web: IndexServer,
) -> None:
    owner, friend = fresh("cowner"), fresh("friend")
    create_account(web.url, friend, PASSWORD)
    name = f"{owner}/shared"
    with sign_up(web.url, owner, PASSWORD) as client, sign_in(web.url, friend, PASSWORD) as theirs:
        push(web, (owner, PASSWORD), name)
        post_form(client, settings_of(name), {"visibility": "private"})
        assert theirs.get(f"/r/{name}").status_code == 404
        fields = {"kind": "user", "member": friend, "role": "read"}
        added = post_form(client, f"{settings_of(name)}/collaborators", fields, settings_of(name))
        assert added.status_code == 303
        assert theirs.get(f"/r/{name}").status_code == 200
        assert friend in client.get(settings_of(name)).text
        unknown = {"kind": "user", "member": "nobody-at-all", "role": "read"}
        missing = post_form(
            client, f"{settings_of(name)}/collaborators", unknown, settings_of(name)
        )
        assert missing.status_code == 404 and "no user" in missing.text
        removed = post_form(
            client,
            f"{settings_of(name)}/collaborators/remove",
            {"kind": "user", "member": friend},
            settings_of(name),
        )
        assert removed.status_code == 303
        assert theirs.get(f"/r/{name}").status_code == 404


def test_deleting_a_tag_and_then_the_repository(web: IndexServer) -> None:
    owner = fresh("downer")
    name = f"{owner}/doomed"
    with sign_up(web.url, owner, PASSWORD) as client:
        push(web, (owner, PASSWORD), name, "v1")
        push(web, (owner, PASSWORD), name, "v2")
        page = client.get(f"/r/{name}/-/tags/v1").text
        assert "Delete tag" in page
        deleted = post_form(client, f"/r/{name}/-/tags/v1/delete", {}, f"/r/{name}/-/tags/v1")
        assert deleted.status_code == 303
        assert client.get(f"/r/{name}/-/tags/v1").status_code == 404
        assert "/-/tags/v1" not in client.get(f"/r/{name}").text
        with web.registry((owner, PASSWORD), f"repository:{name}:pull") as registry:
            assert registry.get(f"/v2/{name}/manifests/v1").status_code == 404
            assert registry.get(f"/v2/{name}/manifests/v2").status_code == 200

        wrong = post_form(
            client, f"{settings_of(name)}/delete", {"confirm": "doomed"}, settings_of(name)
        )
        assert wrong.status_code == 400 and "type the repository" in wrong.text
        assert client.get(f"/r/{name}").status_code == 200
        gone = post_form(
            client, f"{settings_of(name)}/delete", {"confirm": name}, settings_of(name)
        )
        assert gone.status_code == 303 and gone.headers["location"] == f"/u/{owner}"
        assert client.get(f"/r/{name}").status_code == 404
        with web.registry((owner, PASSWORD), f"repository:{name}:pull") as registry:
            assert registry.get(f"/v2/{name}/manifests/v2").status_code == 404


def test_an_immutable_tag_the_registry_refuses_to_delete_is_refused_on_a_page(
    web: IndexServer,
) -> None:
    # The registry's refusal was the API's JSON body, then (for a moment) a 500.
    owner = fresh("fixer")
    name = f"{owner}/fixed"
    with sign_up(web.url, owner, PASSWORD) as client:
        push(web, (owner, PASSWORD), name, "v1")
        with web.api((owner, PASSWORD)) as api:
            patterns = {"patterns": ["v*"]}
            assert api.put(f"/api/repositories/{name}/immutable-tags", json=patterns).is_success
        refused = post_form(client, f"/r/{name}/-/tags/v1/delete", {}, f"/r/{name}/-/tags/v1")
        assert refused.status_code == 403
        assert refused.headers["content-type"].startswith("text/html")
        assert "<h1>Not allowed</h1>" in refused.text and "immutable" in refused.text
        assert client.get(f"/r/{name}/-/tags/v1").status_code == 200


def test_a_webhook_made_on_the_page_shows_its_deliveries_and_redelivers(
    web: IndexServer,
) -> None:
    owner = fresh("howner")
    name = f"{owner}/hooked"
    with sign_up(web.url, owner, PASSWORD) as client, webhook_receiver() as receiver:
        # Made, not pushed: a push's event may reach the webhooks after the hook is made.
        with web.api((owner, PASSWORD)) as api:
            api.patch(f"/api/repositories/{name}", json={"description": "d"}).raise_for_status()
        fields = {"name": "ci", "url": receiver.url, "event_push": "on", "active": "on"}
        created = post_form(client, f"{settings_of(name)}/webhooks", fields, settings_of(name))
        assert created.status_code == 201, created.text
        secret = re.search(r'id="hook-secret">([^<]+)<', created.text)
        assert secret is not None
        hook = re.search(rf"{settings_of(name)}/webhooks/(\d+)", created.text)
        assert hook is not None
        hook_page = f"{settings_of(name)}/webhooks/{hook.group(1)}"
        assert secret.group(1) not in client.get(hook_page).text  # shown once
        assert "ci" in client.get(settings_of(name)).text

        push(web, (owner, PASSWORD), name, "v2")
        calls = receiver.wait_for(1)
        assert calls[0].signed_by(secret.group(1))
        eventually(lambda: "delivered" in client.get(hook_page).text, what="a delivery shown")
        page = client.get(hook_page).text
        delivery = re.search(r"/deliveries/(\d+)/redeliver", page)
        assert delivery is not None and "200" in page
        again = post_form(client, f"{hook_page}/deliveries/{delivery.group(1)}/redeliver", {},
                          hook_page)  # fmt: skip
        assert again.status_code == 303
        assert receiver.wait_for(2)[1].body == calls[0].body

        refused = {"url": "http://169.254.169.254/latest", "event_push": "on", "active": "on"}
        answer = post_form(client, f"{settings_of(name)}/webhooks", refused, settings_of(name))
        assert answer.status_code == 400 and "url refused" in answer.text
        nothing = post_form(client, hook_page, {"url": receiver.url, "active": "on"})
        assert nothing.status_code == 400  # no event chosen
        off = post_form(client, hook_page, {"url": receiver.url, "event_delete": "on"})
        assert off.status_code == 303
        assert ">off<" in client.get(settings_of(name)).text.replace("</td>", "<")
        removed = post_form(client, f"{hook_page}/delete", {}, hook_page)
        assert removed.status_code == 303
        assert client.get(hook_page).status_code == 404

        with web.api((owner, PASSWORD)) as api:  # as many as a repository may have
            for _ in range(20):
                made = api.post(f"/api/repositories/{name}/webhooks", json={"url": receiver.url})
                assert made.status_code == 201
        full = post_form(client, f"{settings_of(name)}/webhooks", fields, settings_of(name))
        assert full.status_code == 409 and "the most it may have" in full.text


def test_an_owner_manages_members_teams_and_sees_what_teams_may_use(web: IndexServer) -> None:
    owner, member, stranger = fresh("oowner"), fresh("omember"), fresh("ostranger")
    org = fresh("org")
    for user in (member, stranger):
        create_account(web.url, user, PASSWORD)
    create_account(web.url, owner, PASSWORD)
    with web.api((owner, PASSWORD)) as api:
        assert api.post("/api/orgs", json={"name": org}).status_code == 201
    page = f"/u/{org}/-/settings"
    with sign_in(web.url, owner, PASSWORD) as client:
        assert "Organisation settings" in client.get(f"/u/{org}").text
        assert post_form(client, f"{page}/members", {"username": member, "role": "member"},
                         page).status_code == 303  # fmt: skip
        assert post_form(client, f"{page}/teams", {"team": "builders"}, page).status_code == 303
        added = post_form(client, f"{page}/teams/builders/members", {"username": member}, page)
        assert added.status_code == 303
        name = f"{org}/tool"
        push(web, (owner, PASSWORD), name)
        grant = {"kind": "team", "member": "builders", "role": "write"}
        granted = post_form(client, f"{settings_of(name)}/collaborators", grant, settings_of(name))
        assert granted.status_code == 303
        shown = client.get(page).text
        assert name in shown and "write" in shown and member in shown
        last = post_form(client, f"{page}/members/remove", {"username": owner}, page)
        assert last.status_code == 409 and "at least one owner" in last.text
    with sign_in(web.url, member, PASSWORD) as theirs:
        assert theirs.get(page).status_code == 403
        assert "Organisation settings" not in theirs.get(f"/u/{org}").text
    with sign_in(web.url, stranger, PASSWORD) as theirs:
        assert theirs.get(page).status_code == 404


def test_an_owner_deletes_a_team_and_its_members_lose_what_it_gave_them(
    web: IndexServer,
) -> None:
    owner, member = fresh("towner"), fresh("tmember")
    org = fresh("torg")
    for user in (owner, member):
        create_account(web.url, user, PASSWORD)
    name = f"{org}/secret"
    with web.api((owner, PASSWORD)) as api:
        assert api.post("/api/orgs", json={"name": org}).status_code == 201
        assert api.put(f"/api/orgs/{org}/members/{member}", json={"role": "member"}).is_success
        assert api.post(f"/api/orgs/{org}/teams", json={"name": "readers"}).status_code == 201
        assert api.put(f"/api/orgs/{org}/teams/readers/members/{member}").is_success
        push(web, (owner, PASSWORD), name)
        assert api.patch(f"/api/repositories/{name}", json={"visibility": "private"}).is_success
    page = f"/u/{org}/-/settings"
    with sign_in(web.url, owner, PASSWORD) as client:
        grant = {"kind": "team", "member": "readers", "role": "read"}
        granted = post_form(client, f"{settings_of(name)}/collaborators", grant, settings_of(name))
        assert granted.status_code == 303
        with sign_in(web.url, member, PASSWORD) as theirs:
            assert theirs.get(f"/r/{name}").status_code == 200
            refused = post_form(theirs, f"{page}/teams/readers/delete", {}, f"/u/{org}")
            assert refused.status_code == 403
            shown = client.get(page).text
            assert 'data-confirm="Delete team readers of' in shown
            deleted = post_form(client, f"{page}/teams/readers/delete", {}, page)
            assert deleted.status_code == 303
            assert 'id="team-readers"' not in client.get(page).text
            assert theirs.get(f"/r/{name}").status_code == 404
        assert "readers" not in client.get(settings_of(name)).text
        again = post_form(client, f"{page}/teams/readers/delete", {}, page)
        assert again.status_code == 404
        forged = client.post(f"{page}/teams/builders/delete", data={"csrf_token": "x" * 43})
        assert forged.status_code == 403


def test_site_administration_is_for_site_administrators_only(web: IndexServer) -> None:
    user = fresh("plain")
    with sign_up(web.url, user, PASSWORD) as client, httpx.Client(base_url=web.url) as anonymous:
        for path in ("/-/admin", "/-/admin/storage", "/-/admin/queues"):
            assert client.get(path).status_code == 404
            assert anonymous.get(path).status_code == 404
        assert post_form(client, f"/-/admin/users/{user}/promote", {}, "/").status_code == 404
        assert 'href="/-/admin"' not in client.get("/").text


def test_an_administrator_disables_promotes_and_resets_passwords(web: IndexServer) -> None:
    user = fresh("managed")
    push_user = fresh("storer")
    create_account(web.url, push_user, PASSWORD)
    push(web, (push_user, PASSWORD), f"{push_user}/big")
    with (
        sign_up(web.url, user, PASSWORD) as theirs,
        sign_in(web.url, "admin", ADMIN_PASSWORD) as admin,
    ):
        listed = admin.get("/-/admin", params={"q": user[:4]})
        assert listed.status_code == 200 and user in listed.text
        base = f"/-/admin/users/{user}"
        assert post_form(admin, f"{base}/disable", {}, "/-/admin").status_code == 303
        assert theirs.get("/account/tokens").status_code == 303  # signed out
        assert "disabled" in admin.get("/-/admin", params={"q": user}).text
        assert post_form(admin, f"{base}/enable", {}, "/-/admin").status_code == 303
        assert post_form(admin, f"{base}/promote", {}, "/-/admin").status_code == 303
        with web.api((user, PASSWORD)) as api:
            assert api.get("/api/user").json()["is_admin"] is True
        assert post_form(admin, f"{base}/demote", {}, "/-/admin").status_code == 303
        myself = post_form(admin, "/-/admin/users/admin/demote", {}, "/-/admin")
        assert myself.status_code == 409
        reset = post_form(admin, f"{base}/password", {}, "/-/admin")
        assert reset.status_code == 200
        found = re.search(r'id="new-password">([^<]+)<', reset.text)
        assert found is not None
        with sign_in(web.url, user, found.group(1)) as again:
            assert again.get("/account/tokens").status_code == 200

        storage = admin.get("/-/admin/storage", params={"from": push_user})
        assert storage.status_code == 200 and push_user in storage.text
        assert "Registry events" in admin.get("/-/admin/queues").text


def test_storage_per_namespace_is_the_registry_s_accounting_a_page_of_namespaces_at_a_time(
    web: IndexServer,
) -> None:
    owner = fresh("accounted")
    create_account(web.url, owner, PASSWORD)
    image = make_image(f"{owner}-shared", layers=2)
    for name in (f"{owner}/one", f"{owner}/two"):
        with web.registry((owner, PASSWORD), f"repository:{name}:pull,push") as registry:
            for tag in ("v1", "v2"):  # four tags, one image: the store holds it once
                push_image(registry, name, image, tag)
        web.catalogued(name)
    with web.api((owner, PASSWORD)) as api:
        stored = api.get(f"/api/namespaces/{owner}/usage").json()
    assert stored["bytes"] < 2 * sum(len(layer) for layer in image.layers)
    with sign_in(web.url, "admin", ADMIN_PASSWORD) as admin:
        page = admin.get("/-/admin/storage", params={"from": owner})
        assert page.status_code == 200
        listed = re.findall(r'<td><a href="/u/([^"]+)">', page.text)
        assert listed[0] == owner and listed == sorted(listed) and len(listed) <= 20
        row = page.text[page.text.index(f'href="/u/{owner}"') :]
        assert row.index(f'<data value="{stored["bytes"]}"') < row.index("</tr>")
        assert "estimate" not in page.text.lower()
        first = admin.get("/-/admin/storage").text
        names = re.findall(r'<td><a href="/u/([^"]+)">', first)
        following = re.search(r'rel="next" href="/-/admin/storage\?from=([^"]+)"', first)
        if following is not None:  # more than a page of namespaces: the next starts after
            assert following.group(1) > names[-1] and len(names) == 20


def test_the_queues_page_shows_a_failing_webhook_and_why(web: IndexServer) -> None:
    owner = fresh("qowner")
    name = f"{owner}/failing"
    create_account(web.url, owner, PASSWORD)
    push(web, (owner, PASSWORD), name)
    with webhook_receiver(script=[500, 500]) as receiver:
        with web.api((owner, PASSWORD)) as api:
            made = api.post(f"/api/repositories/{name}/webhooks", json={"url": receiver.url})
            assert made.status_code == 201
        push(web, (owner, PASSWORD), name, "v2")
        receiver.wait_for(2)
    with sign_in(web.url, "admin", ADMIN_PASSWORD) as admin:

        def failed() -> str | None:
            page = admin.get("/-/admin/queues").text
            return page if "answered 500" in page else None

        page = eventually(failed, what="the failure on the queues page")
    assert receiver.url in page and name in page


def test_an_endpoint_s_failed_events_are_retried_then_discarded_from_the_queues_page(
    tmp_path: Path,
) -> None:
    hub = {"name": "hub", "url": "", "timeout": "2s", "threshold": 1, "backoff": "1h"}
    with event_receiver() as receiver:
        receiver.refusing = True
        env = {
            "DOCKYARD_NOTIFICATIONS__ENDPOINTS": json.dumps([{**hub, "url": receiver.url}]),
            "DOCKYARD_NOTIFICATIONS__ALLOW_PRIVATE_TARGETS": "true",
        }
        with (
            index_server(tmp_path / "data", env) as server,
            sign_in(server.url, "admin", ADMIN_PASSWORD) as admin,
        ):
            push(server, ("admin", ADMIN_PASSWORD), "admin/app", "v1")
            row = eventually(lambda: failed_row(admin), what="hub's failed events")
            assert "backing off" in row and 'data-confirm="Discard the ' in row
            receiver.refusing = False
            retried = post_form(admin, "/-/admin/queues/events/retry", {"endpoint": "hub"},
                                "/-/admin/queues")  # fmt: skip
            assert retried.status_code == 303 and "done=retry" in retried.headers["location"]
            delivered = len(receiver.wait_for_count(1))  # long before the hour of back-off

            receiver.refusing = True
            push(server, ("admin", ADMIN_PASSWORD), "admin/app", "v2")
            eventually(lambda: failed_row(admin), what="hub's new failures")
            discarded = post_form(admin, "/-/admin/queues/events/discard", {"endpoint": "hub"},
                                  "/-/admin/queues")  # fmt: skip
            assert discarded.status_code == 303
            page = admin.get(discarded.headers["location"]).text
            assert "Discarded" in page and failed_row(admin) is None
            receiver.refusing = False
            assert len(receiver.events) == delivered

            unknown = post_form(admin, "/-/admin/queues/events/retry", {"endpoint": "nowhere"},
                                "/-/admin/queues")  # fmt: skip
            assert unknown.status_code == 404
            forged = admin.post("/-/admin/queues/events/discard", data={"endpoint": "hub"})
            assert forged.status_code == 403


def failed_row(admin: httpx.Client) -> str | None:
    """The queues page's row of endpoint `hub` while it has failed events."""
    page = admin.get("/-/admin/queues").text
    start = page.find("<td><code>hub</code></td>")
    if start < 0:
        return None
    row = page[start : page.index("</tr>", start)]
    return row if "Retry</button>" in row else None
