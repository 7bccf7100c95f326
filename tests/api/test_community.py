"""Stars, comments and descriptions on real servers, on SQLite and PostgreSQL.

oscar owns the repositories; carol is a read collaborator on the private one; alice, bob, dora
and the fans are other signed-in people; sam is a stranger; `oscar+ci` a read-only robot and
`oscar-read` a read-only personal token of oscar's; `admin` the site administrator.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.support.api import assert_error, assert_status
from tests.support.images import make_image, push_image
from tests.support.index import ADMIN_PASSWORD, Credentials, IndexServer, index_on_backend
from tests.support.waiting import eventually

ADMIN = ("admin", ADMIN_PASSWORD)
FANS = tuple(f"fan{i}" for i in range(6))
PEOPLE = ("oscar", "carol", "alice", "bob", "dora", "sam", *FANS)
PUBLIC = ("oscar/stars", "oscar/crowd", "oscar/talk", "oscar/pages", "oscar/doomed")
SECRET = "oscar/secret"


def password(user: str) -> tuple[str, str]:
    return (user, f"{user}-password")


@dataclass
class World:
    index: IndexServer
    credentials: dict[str, Credentials] = field(default_factory=dict)

    def api(self, who: str) -> httpx.Client:
        return self.index.api(self.credentials[who])

    def shown(self, repo: str, who: str = "admin") -> dict[str, Any]:
        with self.api(who) as api:
            response = api.get(f"/api/repositories/{repo}")
        assert_status(response, 200)
        found: dict[str, Any] = response.json()
        return found


@pytest.fixture(scope="module")
def world(
    database_backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    with index_on_backend(database_backend, request, tmp_path_factory, "community") as index:
        yield _populate(index)


def _populate(index: IndexServer) -> World:
    world = World(index, {"anonymous": None, "admin": ADMIN})
    with index.api() as anonymous:
        for user in PEOPLE:
            body = {"username": user, "email": f"{user}@example.com", "password": password(user)[1]}
            assert_status(anonymous.post("/api/users", json=body), 201)
            world.credentials[user] = password(user)
    owner = password("oscar")
    for repo in (*PUBLIC, SECRET):
        with index.registry(owner, f"repository:{repo}:pull,push") as registry:
            push_image(registry, repo, make_image(repo), "v1")
        index.catalogued(repo)
    with index.api(owner) as api:
        assert_status(api.patch(f"/api/repositories/{SECRET}", json={"visibility": "private"}), 200)
        collaborator = f"/api/repositories/{SECRET}/collaborators/users/carol"
        assert_status(api.put(collaborator, json={"role": "read"}), 204)
        for name, robot in (("oscar-read", False), ("ci", True)):
            made = api.post("/api/tokens", json={"name": name, "scopes": ["read"], "robot": robot})
            assert_status(made, 201)
            world.credentials[name] = (made.json()["login"], made.json()["token"])
        made = api.post("/api/tokens", json={"name": "oscar-write", "scopes": ["read", "write"]})
        assert_status(made, 201)
        world.credentials["oscar-write"] = ("oscar", made.json()["token"])
    return world


def next_link(response: httpx.Response) -> str | None:
    link: str | None = response.headers.get("link")
    if link is None:
        return None
    target, relation = link.split(";", 1)
    assert relation.strip() == 'rel="next"', link
    return target.strip()[1:-1]


def every_page(world: World, who: str, path: str) -> list[list[dict[str, Any]]]:
    """The pages of a listing, following its Link headers."""
    pages = []
    with world.api(who) as api:
        target: str | None = path
        while target is not None:
            response = api.get(target)
            assert_status(response, 200)
            pages.append(response.json()["results"])
            target = next_link(response)
    return pages


# Stars


def test_starring_twice_counts_once_and_unstarring_twice_uncounts_once(world: World) -> None:
    repo = "oscar/stars"
    with world.api("alice") as api:
        for _ in range(2):
            assert_status(api.put(f"/api/repositories/{repo}/star"), 204)
            assert world.shown(repo)["star_count"] == 1
        gazers = api.get(f"/api/repositories/{repo}/stargazers").json()["results"]
        assert [g["username"] for g in gazers] == ["alice"]
        for _ in range(2):
            assert_status(api.delete(f"/api/repositories/{repo}/star"), 204)
            assert world.shown(repo)["star_count"] == 0


def test_concurrent_stars_and_unstars_of_many_users_keep_the_count_exact(world: World) -> None:
    repo = "oscar/crowd"

    def toggle(args: tuple[str, str]) -> int:
        who, method = args
        with world.api(who) as api:
            return api.request(method, f"/api/repositories/{repo}/star").status_code

    # Each fan twice at once: the pairs race on the same row, the fans on the same count.
    with ThreadPoolExecutor(len(FANS) * 2) as pool:
        assert set(pool.map(toggle, [(fan, "PUT") for fan in FANS * 2])) == {204}
        assert world.shown(repo)["star_count"] == len(FANS)
        leaving = [(fan, "DELETE") for fan in FANS[:4] * 2] + [("alice", "PUT")] * 2
        assert set(pool.map(toggle, leaving)) == {204}
    assert world.shown(repo)["star_count"] == len(FANS) - 4 + 1
    gazers = every_page(world, "anonymous", f"/api/repositories/{repo}/stargazers?per_page=2")
    assert sorted(g["username"] for page in gazers for g in page) == sorted(["alice", *FANS[4:]])


def test_starred_lists_newest_first_in_bounded_pages_with_a_link_to_the_next(
    world: World,
) -> None:
    order = ["oscar/stars", "oscar/talk", "oscar/pages"]
    with world.api("dora") as api:
        for repo in order:
            assert_status(api.put(f"/api/repositories/{repo}/star"), 204)
        first = api.get("/api/user/starred", params={"per_page": 2})
    assert_status(first, 200)
    assert first.headers["content-type"].startswith("application/json")
    assert next_link(first) == "/api/user/starred?page=2&per_page=2"
    pages = every_page(world, "dora", "/api/user/starred?per_page=2")
    assert [[r["name"] for r in page] for page in pages] == [order[::-1][:2], order[::-1][2:]]
    listed = pages[0][0]
    assert set(listed) == {
        "name",
        "description",
        "visibility",
        "star_count",
        "pull_count",
        "starred_at",
    }
    assert listed["star_count"] >= 1
    with world.api("dora") as api:
        whole = api.get("/api/user/starred")  # the default page holds them all: no Link
        assert (len(whole.json()["results"]), next_link(whole)) == (3, None)
        assert whole.json()["per_page"] == 25
        assert_error(api.get("/api/user/starred?per_page=101"), 400, "PAGINATION_NUMBER_INVALID")
        assert_error(api.get("/api/user/starred?page=0"), 400, "PAGINATION_NUMBER_INVALID")
        assert api.get("/api/user/starred?page=9").json()["results"] == []
    with world.api("anonymous") as anonymous:
        assert_error(anonymous.get("/api/user/starred"), 401, "UNAUTHORIZED")


def test_starred_leaves_out_repositories_the_user_may_no_longer_pull(world: World) -> None:
    collaborator = f"/api/repositories/{SECRET}/collaborators/users/bob"
    with world.api("oscar") as owner:
        assert_status(owner.put(collaborator, json={"role": "read"}), 204)
    with world.api("bob") as api:
        assert_status(api.put(f"/api/repositories/{SECRET}/star"), 204)
        names = [r["name"] for r in api.get("/api/user/starred").json()["results"]]
        assert SECRET in names
    with world.api("oscar") as owner:
        assert_status(owner.delete(collaborator), 204)
    with world.api("bob") as api:
        names = [r["name"] for r in api.get("/api/user/starred").json()["results"]]
        assert SECRET not in names
        assert_error(api.delete(f"/api/repositories/{SECRET}/star"), 404, "NOT_FOUND")


# Comments


def comment(world: World, who: str, repo: str, text: str) -> dict[str, Any]:
    with world.api(who) as api:
        response = api.post(f"/api/repositories/{repo}/comments", json={"body": text})
    assert_status(response, 201)
    found: dict[str, Any] = response.json()
    return found


def test_comments_are_edited_by_their_author_and_deleted_by_author_or_administrators(
    world: World,
) -> None:
    repo = "oscar/talk"
    path = f"/api/repositories/{repo}/comments"
    mine = comment(world, "alice", repo, "Works on arm64 too.")
    assert set(mine) == {"id", "author", "body", "created_at", "updated_at"}
    assert (mine["author"], mine["body"], mine["updated_at"]) == (
        "alice",
        "Works on arm64 too.",
        None,
    )
    with world.api("alice") as api:
        edited = api.patch(f"{path}/{mine['id']}", json={"body": "Works on arm64 and s390x."})
        assert_status(edited, 200)
        assert edited.json()["body"] == "Works on arm64 and s390x."
        assert edited.json()["updated_at"] is not None
        assert edited.json()["created_at"] == mine["created_at"]
    # Others may read it, not change it (a public repository: they see it, so 403).
    with world.api("bob") as api:
        assert_error(api.patch(f"{path}/{mine['id']}", json={"body": "x"}), 403, "DENIED")
        assert_error(api.delete(f"{path}/{mine['id']}"), 403, "DENIED")
    # Not even the repository's administrator edits someone else's words.
    with world.api("oscar") as api:
        assert_error(api.patch(f"{path}/{mine['id']}", json={"body": "x"}), 403, "DENIED")
    with world.api("anonymous") as api:
        listed = api.get(path).json()["results"]
        assert [c["body"] for c in listed if c["id"] == mine["id"]] == ["Works on arm64 and s390x."]
    by_bob = comment(world, "bob", repo, "bob's")
    by_dora = comment(world, "dora", repo, "dora's")
    with world.api("oscar") as api:  # the repository's administrator
        assert_status(api.delete(f"{path}/{by_bob['id']}"), 204)
    with world.api("admin") as api:  # a site administrator
        assert_status(api.delete(f"{path}/{by_dora['id']}"), 204)
    with world.api("alice") as api:
        assert_status(api.delete(f"{path}/{mine['id']}"), 204)
        assert_error(api.delete(f"{path}/{mine['id']}"), 404, "NOT_FOUND")
        assert_error(api.patch(f"{path}/{mine['id']}", json={"body": "x"}), 404, "NOT_FOUND")
        remaining = {c["id"] for c in api.get(path).json()["results"]}
    assert remaining.isdisjoint({mine["id"], by_bob["id"], by_dora["id"]})


def test_a_comment_is_named_only_under_its_own_repository(world: World) -> None:
    theirs = comment(world, "alice", "oscar/talk", "here")
    with world.api("alice") as api:
        elsewhere = f"/api/repositories/oscar/stars/comments/{theirs['id']}"
        assert_error(api.delete(elsewhere), 404, "NOT_FOUND")
        for junk in ("abc", "0", "-1", "99999999999999999999999"):
            assert_error(
                api.delete(f"/api/repositories/oscar/talk/comments/{junk}"), 404, "NOT_FOUND"
            )


def test_comments_come_newest_first_in_pages_with_a_link(world: World) -> None:
    repo = "oscar/pages"
    written = [comment(world, "carol", repo, f"comment {i}")["id"] for i in range(5)]
    path = f"/api/repositories/{repo}/comments?per_page=2"
    pages = every_page(world, "anonymous", path)
    assert [len(page) for page in pages] == [2, 2, 1]
    assert [c["id"] for page in pages for c in page] == written[::-1]
    with world.api("anonymous") as api:
        first = api.get(path)
    assert next_link(first) == f"/api/repositories/{repo}/comments?page=2&per_page=2"


def test_comment_length_is_bounded_and_whitespace_alone_is_no_comment(world: World) -> None:
    path = "/api/repositories/oscar/talk/comments"
    with world.api("alice") as api:
        for body in ({"body": ""}, {"body": " \n\t"}, {"body": "x" * 5_001}, {}, {"body": 3}):
            assert_error(api.post(path, json=body), 400, "INVALID_REQUEST")
        assert_error(api.post(path, json={"body": "ok", "html": True}), 400, "INVALID_REQUEST")
        nul = b'{"body": "a\\u0000b"}'
        headers = {"content-type": "application/json"}
        assert_error(api.post(path, content=nul, headers=headers), 400, "INVALID_REQUEST")
        longest = api.post(path, json={"body": "é" * 5_000})
        assert_status(longest, 201)
        assert longest.json()["body"] == "é" * 5_000
        edit = f"{path}/{longest.json()['id']}"
        assert_error(api.patch(edit, json={"body": "y" * 5_001}), 400, "INVALID_REQUEST")


def test_markup_in_a_comment_comes_back_verbatim_as_json_text(world: World) -> None:
    text = '<script>alert("x")</script> & <b onclick=x>bold</b> \u202e\n`code`'
    added = comment(world, "alice", "oscar/talk", text)
    assert added["body"] == text
    with world.api("anonymous") as api:
        listed = api.get("/api/repositories/oscar/talk/comments")
    assert listed.headers["content-type"] == "application/json"
    assert [c["body"] for c in listed.json()["results"] if c["id"] == added["id"]] == [text]


# Private repositories and credentials


def test_a_private_repository_is_404_on_every_endpoint_to_those_who_may_not_pull(
    world: World,
) -> None:
    # What those who may pull left there: a star, a comment.
    with world.api("carol") as api:
        assert_status(api.put(f"/api/repositories/{SECRET}/star"), 204)
    their = comment(world, "carol", SECRET, "secret words")
    assert world.shown(SECRET, "carol")["star_count"] >= 1

    def calls(repo: str) -> list[tuple[str, str, dict[str, Any] | None]]:
        base = f"/api/repositories/{repo}"
        return [
            ("GET", base, None),
            ("PUT", f"{base}/star", None),
            ("DELETE", f"{base}/star", None),
            ("GET", f"{base}/stargazers", None),
            ("GET", f"{base}/comments", None),
            ("POST", f"{base}/comments", {"body": "hello?"}),
            ("PATCH", f"{base}/comments/{their['id']}", {"body": "mine now"}),
            ("DELETE", f"{base}/comments/{their['id']}", None),
        ]

    for who in ("sam", "anonymous"):
        with world.api(who) as api:
            for repo in (SECRET, "oscar/never-pushed"):
                for method, path, body in calls(repo):
                    response = api.request(method, path, json=body)
                    if who == "anonymous" and method != "GET":
                        assert_error(response, 401, "UNAUTHORIZED")
                    else:
                        assert_error(response, 404, "NOT_FOUND")
    with world.api("sam") as api:
        starred = api.get("/api/user/starred").json()["results"]
        assert SECRET not in [r["name"] for r in starred]
    # Nothing changed: carol's comment and star are still there.
    with world.api("carol") as api:
        listed = api.get(f"/api/repositories/{SECRET}/comments").json()["results"]
        assert [c["body"] for c in listed if c["id"] == their["id"]] == ["secret words"]
        gazers = api.get(f"/api/repositories/{SECRET}/stargazers").json()["results"]
        assert "carol" in [g["username"] for g in gazers]


def test_robots_and_read_tokens_read_but_never_write(world: World) -> None:
    theirs = comment(world, "oscar", "oscar/talk", "by the owner")
    base = "/api/repositories/oscar/talk"
    for who in ("ci", "oscar-read"):
        with world.api(who) as api:
            assert_status(api.get(f"{base}/comments"), 200)
            assert_status(api.get(f"{base}/stargazers"), 200)
            assert_error(api.put(f"{base}/star"), 403, "DENIED")
            assert_error(api.delete(f"{base}/star"), 403, "DENIED")
            assert_error(api.post(f"{base}/comments", json={"body": "hi"}), 403, "DENIED")
            edit = f"{base}/comments/{theirs['id']}"
            assert_error(api.patch(edit, json={"body": "hi"}), 403, "DENIED")
            assert_error(api.delete(edit), 403, "DENIED")


def test_a_write_token_stars_and_comments_but_never_changes_settings(world: World) -> None:
    """Stars and comments are the account's own activity (Caller.may_post): a personal token
    with the write scope may; settings only the password changes (Caller.may_change)."""
    with world.api("oscar-write") as api:
        settings = api.patch("/api/repositories/oscar/stars", json={"description": "stars"})
        assert_error(settings, 403, "DENIED")
        assert_status(api.put("/api/repositories/oscar/stars/star"), 204)
        posted = api.post("/api/repositories/oscar/stars/comments", json={"body": "by token"})
        assert_status(posted, 201)
        assert_status(
            api.delete(f"/api/repositories/oscar/stars/comments/{posted.json()['id']}"), 204
        )
        assert_status(api.delete("/api/repositories/oscar/stars/star"), 204)


def test_deleting_a_repository_takes_its_stars_and_comments_with_it(world: World) -> None:
    repo = "oscar/doomed"
    with world.api("alice") as api:
        assert_status(api.put(f"/api/repositories/{repo}/star"), 204)
    comment(world, "alice", repo, "farewell")
    with world.api("oscar") as api:
        assert api.delete(f"/v1/repositories/{repo}/").status_code == 200
        eventually(lambda: api.get(f"/api/repositories/{repo}").status_code == 404)
    with world.index.registry(password("oscar"), f"repository:{repo}:pull,push") as registry:
        push_image(registry, repo, make_image(f"{repo}-again"), "v1")
    assert world.index.catalogued(repo)["star_count"] == 0
    with world.api("alice") as api:
        assert api.get(f"/api/repositories/{repo}/comments").json()["results"] == []
        assert repo not in [r["name"] for r in api.get("/api/user/starred").json()["results"]]


# Descriptions


def test_the_short_description_is_one_line_of_at_most_100_characters(world: World) -> None:
    path = "/api/repositories/oscar/stars"
    with world.api("oscar") as api:
        assert_status(api.patch(path, json={"description": "d" * 100}), 200)
        for bad in ("d" * 101, "two\nlines", "carriage\rreturn"):
            assert_error(api.patch(path, json={"description": bad}), 400, "INVALID_REQUEST")
    assert world.shown("oscar/stars", "anonymous")["description"] == "d" * 100


def test_the_full_description_is_markdown_of_at_most_25000_characters(world: World) -> None:
    path = "/api/repositories/oscar/crowd"
    markdown = "# Crowd\n\n<b>kept as written</b>\n\n" + "x" * (25_000 - 33)
    assert len(markdown) == 25_000
    with world.api("oscar") as api:
        changed = api.patch(path, json={"full_description": markdown})
        assert_status(changed, 200)
        assert changed.json()["full_description"] == markdown
        too_long = {"full_description": markdown + "x"}
        assert_error(api.patch(path, json=too_long), 400, "INVALID_REQUEST")
    shown = world.shown("oscar/crowd", "anonymous")
    assert shown["full_description"] == markdown
    assert isinstance(shown["star_count"], int)
    with world.api("alice") as api:  # not an administrator of it
        assert_error(api.patch(path, json={"full_description": "mine"}), 403, "DENIED")
    with world.api("sam") as api:  # nor may a stranger learn a private one exists
        secret = f"/api/repositories/{SECRET}"
        assert_error(api.patch(secret, json={"full_description": "x"}), 404, "NOT_FOUND")


def test_a_full_description_of_25000_characters_fits_whatever_its_script(world: World) -> None:
    path = "/api/repositories/oscar/crowd"
    markdown = "港" * 25_000  # three bytes each in UTF-8; twelve each JSON-escaped as \\u6e2f
    with world.api("oscar") as api:
        for body in (
            json.dumps({"full_description": markdown}, ensure_ascii=False).encode(),
            json.dumps({"full_description": markdown}).encode(),
        ):
            headers = {"Content-Type": "application/json"}
            assert_status(api.patch(path, content=body, headers=headers), 200)
    assert world.shown("oscar/crowd", "anonymous")["full_description"] == markdown


def test_a_namespace_longer_than_any_is_400(world: World) -> None:
    with world.api("admin") as api:
        long_name = "n" * 65 + "/x"
        answer = api.patch(f"/api/repositories/{long_name}", json={"description": "d"})
        assert_error(answer, 400, "INVALID_REQUEST")


# Search over what the community adds


def test_search_finds_full_descriptions_shows_stars_and_sorts_by_them(world: World) -> None:
    with world.api("oscar") as api:
        change = {"full_description": "# Talk\n\nHolds the word quokkalicious once."}
        assert_status(api.patch("/api/repositories/oscar/talk", json=change), 200)
    with world.api("anonymous") as api:
        for text in ("quokkalicious", "qu", "okkal"):  # trigram lookups and a short text
            found = api.get("/api/search", params={"q": text}).json()
            assert "oscar/talk" in [hit["name"] for hit in found["results"]], text
        v1 = api.get("/v1/search", params={"q": "quokkalicious"}).json()
        assert [hit["name"] for hit in v1["results"]] == ["oscar/talk"]

    for fan in FANS[:3]:
        with world.api(fan) as api:
            assert_status(api.put("/api/repositories/oscar/pages/star"), 204)
    with world.api(FANS[3]) as api:
        assert_status(api.put("/api/repositories/oscar/talk/star"), 204)
    with world.api("anonymous") as api:
        ranked = api.get("/api/search", params={"q": "oscar/", "sort": "stars"}).json()
        counts = {hit["name"]: hit["star_count"] for hit in ranked["results"]}
        v1 = api.get("/v1/search", params={"q": "oscar/pages"}).json()
    stars = [counts[name] for name in counts]
    assert stars == sorted(stars, reverse=True)
    assert counts["oscar/pages"] >= 3 and counts["oscar/talk"] >= 1
    assert v1["results"][0]["star_count"] == counts["oscar/pages"]
    assert SECRET not in counts
