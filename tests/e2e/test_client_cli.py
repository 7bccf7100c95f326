"""The `dockyard` client commands run as subprocesses against Dockyard (index mode, tokens) and
Distribution (htpasswd): login stored as docker stores it, OCI layouts and docker-archives pushed
and pulled back with equal digests, one platform of an index, copies between the two registries,
inspect, tags and catalogue pages, tag, delete, search, attach and referrers, and failures as
one line and a non-zero exit."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import stat
import subprocess
import sys
import tarfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.auth import htpasswd
from tests.support.clients import Skopeo
from tests.support.distribution import distribution_server
from tests.support.images import OCI_INDEX
from tests.support.index import IndexServer, index_server
from tests.support.oci_layout import Layout, tar_layer

pytestmark = pytest.mark.e2e


@dataclass
class Target:
    """A registry under test, a user who may push to `namespace`, and a HOME of its own."""

    kind: str
    host: str
    user: str
    password: str
    home: Path

    @property
    def namespace(self) -> str:
        return f"{self.host}/{self.user}"

    def dockyard(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return dockyard(self.home, *args, stdin=stdin)

    def ok(self, *args: str, stdin: str | None = None) -> str:
        return succeeded(self.dockyard(*args, stdin=stdin))

    def login(self) -> None:
        self.ok("login", self.host, "-u", self.user, "--password-stdin", stdin=self.password)


def dockyard(
    home: Path, *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    variables = {k: v for k, v in os.environ.items() if k != "DOCKER_CONFIG"}
    variables.update({"HOME": str(home), "DOCKYARD_CERTS_DIR": str(home / "certs"), **(env or {})})
    return subprocess.run(
        [sys.executable, "-m", "dockyard.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=180,
        env=variables,
        cwd=home,
        check=False,
    )


def succeeded(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"{result.args}: {result.stderr}"
    return result.stdout


def failed_in_one_line(result: subprocess.CompletedProcess[str], *words: str) -> str:
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dockyard: "), result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def fresh(stem: str) -> str:
    return f"{stem}-{uuid.uuid4().hex[:8]}"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def multi_platform_layout(path: Path, tag: str) -> tuple[Layout, dict[str, Any]]:
    """A layout holding an index of linux/amd64 and linux/arm64, tagged `tag`; the index's
    descriptor and each platform's under `platforms`."""
    layout = Layout(path)
    nonce = uuid.uuid4().hex
    children = [
        layout.add_image(
            [{"etc/arch": f"{arch} {nonce}".encode()}, {"app/bin": arch.encode() * 4096}],
            architecture=arch,
        )
        for arch in ("amd64", "arm64")
    ]
    index = layout.add_index(children)
    layout.tag(tag, index)
    return layout, {**index, "platforms": {c["platform"]["architecture"]: c for c in children}}


def top_of(layout: Path) -> dict[str, Any]:
    (entry,) = json.loads((layout / "index.json").read_text())["manifests"]
    return dict(entry)


# --- the registries ---------------------------------------------------------------------------

CAROL_PASSWORD = "carol-pw-123"


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IndexServer]:
    with index_server(tmp_path_factory.mktemp("cli-index") / "data") as server:
        for user in ("carol", "dave"):
            body = {"username": user, "email": f"{user}@example.com", "password": f"{user}-pw-123"}
            with server.api() as api:
                assert api.post("/api/users", json=body).status_code == 201
        yield server


@pytest.fixture(scope="module")
def distribution_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    base = tmp_path_factory.mktemp("cli-distribution")
    htpasswd(base / "htpasswd", "alice", "wonderland")
    auth = f"auth:\n  htpasswd: {{realm: basic-realm, path: {base / 'htpasswd'}}}\n"
    with distribution_server(base / "distribution", auth) as server:
        yield server.host


@pytest.fixture(params=["dockyard", "distribution"])
def target(
    request: pytest.FixtureRequest, index: IndexServer, distribution_host: str, tmp_path: Path
) -> Target:
    home = tmp_path / "home"
    home.mkdir()
    if request.param == "dockyard":
        return Target("dockyard", index.server.host, "carol", CAROL_PASSWORD, home)
    return Target("distribution", distribution_host, "alice", "wonderland", home)


# --- login, push, pull ------------------------------------------------------------------------


def test_login_is_stored_as_docker_stores_it_and_skopeo_uses_it(target: Target) -> None:
    target.login()
    config_path = target.home / ".docker" / "config.json"
    assert stat.S_IMODE(config_path.stat().st_mode) == 0o600
    entry = json.loads(config_path.read_text())["auths"][target.host]
    if target.kind == "distribution":
        assert entry == {"auth": base64.b64encode(b"alice:wonderland").decode()}
    else:  # Dockyard's token service gives a refresh token: docker's `identitytoken`
        assert base64.b64decode(entry["auth"]) == b"carol:" and entry["identitytoken"]
    layout, index = multi_platform_layout(target.home / "layout", "v1")
    name = f"{target.namespace}/{fresh('app')}"
    succeeded(target.dockyard("push", "--json", f"oci:{layout.path}:v1", f"{name}:v1"))
    skopeo = Skopeo(target.home / "skopeo")
    raw = skopeo.run(
        "inspect",
        "--raw",
        "--tls-verify=false",
        "--authfile",
        str(config_path),
        f"docker://{name}:v1",
    ).stdout
    assert sha256(raw.encode()) == index["digest"]

    target.ok("logout", target.host)
    assert target.host not in json.loads(config_path.read_text())["auths"]
    if target.kind == "distribution":
        failed_in_one_line(target.dockyard("tags", name), "username and password")


def test_an_oci_layout_pushed_and_pulled_back_has_the_same_digests(target: Target) -> None:
    target.login()
    layout, index = multi_platform_layout(target.home / "layout", "v1")
    name = f"{target.namespace}/{fresh('round')}"
    first = json.loads(target.ok("push", "--json", f"oci:{layout.path}:v1", f"{name}:v1"))
    assert first["digest"] == index["digest"] and set(first["blobs"].values()) == {"uploaded"}
    again = json.loads(target.ok("push", "--json", f"oci:{layout.path}:v1", f"{name}:v1"))
    assert set(again["blobs"].values()) == {"exists"}  # HEAD first: nothing sent again

    whole = target.home / "whole"
    target.ok("pull", "--all-platforms", f"{name}:v1", f"oci:{whole}:v1")
    assert top_of(whole)["digest"] == index["digest"]
    for blob in (layout.path / "blobs" / "sha256").iterdir():
        assert (whole / "blobs" / "sha256" / blob.name).read_bytes() == blob.read_bytes()

    one = target.home / "arm64"
    target.ok("pull", "--platform", "linux/arm64", f"{name}:v1", f"oci:{one}:v1")
    assert top_of(one)["digest"] == index["platforms"]["arm64"]["digest"]
    absent = target.dockyard("pull", "--platform", "linux/s390x", f"{name}:v1", f"oci:{one}:x")
    failed_in_one_line(absent, "linux/s390x", "linux/amd64")

    # skopeo reads what dockyard wrote, and the other way round.
    skopeo = Skopeo(target.home / "skopeo")
    creds = f"{target.user}:{target.password}"
    back = target.home / "by-skopeo"
    # (skopeo gzips layers on the way to a registry: a new index digest, which dockyard keeps)
    copied = skopeo.copy(
        f"oci:{whole}:v1", f"docker://{name}-skopeo:v1", "--all", "--dest-creds", creds
    )
    target.ok("pull", "--all-platforms", f"{name}-skopeo:v1", f"oci:{back}:v1")
    assert top_of(back)["digest"] == copied


def test_a_docker_archive_pushed_and_pulled_back(target: Target) -> None:
    target.login()
    layers = [
        tar_layer({"etc/hello": f"hello {uuid.uuid4()}".encode()}),
        tar_layer({"app/data": os.urandom(50_000)}),
    ]
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Cmd": ["/app/data"]},
            "rootfs": {"type": "layers", "diff_ids": [sha256(layer) for layer in layers]},
        }
    ).encode()
    archive = target.home / "saved.tar"
    config_name = f"{hashlib.sha256(config).hexdigest()}.json"
    with tarfile.open(archive, "w") as tar:  # `docker save`'s format before Docker 25
        members = {config_name: config}
        members.update({f"layer{i}/layer.tar": layer for i, layer in enumerate(layers)})
        entry = {
            "Config": config_name,
            "RepoTags": ["example/app:v1"],
            "Layers": [f"layer{i}/layer.tar" for i in range(len(layers))],
        }
        members["manifest.json"] = json.dumps([entry]).encode()
        for member, data in members.items():
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    name = f"{target.namespace}/{fresh('archive')}"
    target.ok("push", f"docker-archive:{archive}", f"{name}:v1")
    shown = json.loads(target.ok("inspect", "--json", f"{name}:v1"))
    assert shown["image"]["config"]["rootfs"]["diff_ids"] == [sha256(layer) for layer in layers]
    assert [layer["size"] for layer in shown["image"]["layers"]] == [len(x) for x in layers]

    pulled = target.home / "pulled.tar"
    target.ok("pull", f"{name}:v1", f"docker-archive:{pulled}")
    with tarfile.open(pulled) as tar:
        (saved,) = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
        assert saved["RepoTags"] == [f"{name}:v1"]
        assert tar.extractfile(saved["Config"]).read() == config  # type: ignore[union-attr]
        found = [tar.extractfile(path).read() for path in saved["Layers"]]  # type: ignore[union-attr]
    assert found == layers
    assert not (target.home / "pulled.tar.layout").exists()


# --- copy, inspect, listings, tag, delete, referrers -------------------------------------------


def test_copy_between_dockyard_and_distribution(
    index: IndexServer, distribution_host: str, tmp_path: Path
) -> None:
    dockyard_side = Target("dockyard", index.server.host, "carol", CAROL_PASSWORD, tmp_path)
    distribution_side = Target("distribution", distribution_host, "alice", "wonderland", tmp_path)
    dockyard_side.login()
    distribution_side.login()
    layout, index_descriptor = multi_platform_layout(tmp_path / "layout", "v1")
    source = f"{dockyard_side.namespace}/{fresh('copy')}"
    dockyard_side.ok("push", f"oci:{layout.path}:v1", f"{source}:v1")
    with_note = tmp_path / "note.txt"
    with_note.write_text("signed, sealed\n")
    dockyard_side.ok("attach", f"{source}:v1", str(with_note), "--artifact-type", "text/x-note")

    whole = f"{distribution_side.namespace}/{fresh('copied')}"
    copied = json.loads(
        dockyard_side.ok("copy", "--json", "--referrers", f"{source}:v1", f"{whole}:v1")
    )
    assert copied["digest"] == index_descriptor["digest"]
    assert dockyard_side.ok("digest", f"{whole}:v1").strip() == index_descriptor["digest"]
    referrers = json.loads(dockyard_side.ok("referrers", "--json", f"{whole}:v1"))
    assert [m["artifactType"] for m in referrers["manifests"]] == ["text/x-note"]

    # Back, one platform only: that image alone under the tag.
    back = f"{dockyard_side.namespace}/{fresh('back')}"
    dockyard_side.ok("copy", "--platform", "linux/amd64", f"{whole}:v1", f"{back}:v1")
    expected = index_descriptor["platforms"]["amd64"]["digest"]
    assert dockyard_side.ok("digest", f"{back}:v1").strip() == expected

    # Within one registry, blobs are mounted, not sent again.
    again = json.loads(dockyard_side.ok("copy", "--json", f"{source}:v1", f"{source}-2:v1"))
    assert set(again["blobs"].values()) == {"mounted"}


def test_inspect_tags_catalog_tag_and_delete(target: Target) -> None:
    target.login()
    layout, index = multi_platform_layout(target.home / "layout", "v1")
    name = f"{target.namespace}/{fresh('list')}"
    target.ok("push", f"oci:{layout.path}:v1", f"{name}:v1")
    target.ok("tag", f"{name}:v1", "v2")
    target.ok("tag", f"{name}:v1", "v3")
    tags = json.loads(target.ok("tags", "--json", "--page-size", "1", name))["tags"]
    assert sorted(tags) == ["v1", "v2", "v3"]

    shown = json.loads(target.ok("inspect", "--json", f"{name}:v2"))
    assert shown["digest"] == index["digest"] and len(shown["manifests"]) == 2
    one = json.loads(target.ok("inspect", "--json", "--platform", "linux/arm64", f"{name}:v1"))
    assert one["image"]["digest"] == index["platforms"]["arm64"]["digest"]
    assert one["image"]["config"]["architecture"] == "arm64"
    text = target.ok("inspect", "--platform", "linux/arm64", f"{name}:v1")
    assert "Layers:" in text and "linux/arm64" in text
    raw = target.dockyard("inspect", "--raw", f"{name}:v1")
    assert sha256(raw.stdout.encode()) == index["digest"]

    if target.kind == "distribution":  # Dockyard's catalogue is for its admins
        repositories = json.loads(target.ok("catalog", "--json", "--page-size", "1", target.host))
        assert name.split("/", 1)[1] in repositories["repositories"]

    deleted = target.ok("delete", f"{name}:v2")
    assert index["digest"] in deleted
    failed_in_one_line(target.dockyard("inspect", f"{name}:v1"), "MANIFEST_UNKNOWN")


def test_attach_shows_in_referrers_and_the_registry_api(target: Target) -> None:
    target.login()
    layout, index = multi_platform_layout(target.home / "layout", "v1")
    name = f"{target.namespace}/{fresh('sbom')}"
    target.ok("push", f"oci:{layout.path}:v1", f"{name}:v1")
    sbom = target.home / "sbom.json"
    sbom.write_text('{"packages": []}')
    attached = json.loads(
        target.ok(
            "attach",
            "--json",
            f"{name}:v1",
            str(sbom),
            "--artifact-type",
            "application/spdx+json",
            "--annotation",
            "kind=sbom",
        )
    )
    listed = json.loads(target.ok("referrers", "--json", f"{name}:v1"))
    assert listed["subject"] == index["digest"]
    assert [m["digest"] for m in listed["manifests"]] == [attached["digest"]]
    repository = name.split("/", 1)[1]
    if target.kind == "dockyard":  # the registry's own referrers API lists it
        token = httpx.post(
            f"http://{target.host}/token",
            data={
                "grant_type": "password",
                "username": "carol",
                "password": CAROL_PASSWORD,
                "service": "dockyard",
                "scope": f"repository:{repository}:pull",
                "client_id": "test",
            },
        ).json()["access_token"]
        answer = httpx.get(
            f"http://{target.host}/v2/{repository}/referrers/{index['digest']}",
            headers={"Authorization": f"Bearer {token}"},
        )
    else:  # Distribution has none: the spec's fallback tag
        fallback = index["digest"].replace(":", "-")
        answer = httpx.get(
            f"http://{target.host}/v2/{repository}/manifests/{fallback}",
            headers={"Accept": OCI_INDEX},
            auth=("alice", "wonderland"),
        )
    assert [m["digest"] for m in answer.json()["manifests"]] == [attached["digest"]]

    artifact_dir = target.home / "bundle"
    artifact_dir.mkdir()
    (artifact_dir / "a.txt").write_text("a")
    pushed = json.loads(
        target.ok(
            "push",
            "--json",
            str(artifact_dir),
            f"{name}:bundle",
            "--artifact-type",
            "application/x-bundle",
        )
    )
    shown = json.loads(target.ok("inspect", "--json", f"{name}:bundle"))
    assert shown["digest"] == pushed["digest"]
    assert shown["image"]["artifactType"] == "application/x-bundle"


def test_search_on_dockyard(index: IndexServer, tmp_path: Path) -> None:
    carol = Target("dockyard", index.server.host, "carol", CAROL_PASSWORD, tmp_path)
    carol.login()
    layout, _ = multi_platform_layout(tmp_path / "layout", "v1")
    stem = fresh("findme")
    carol.ok("push", f"oci:{layout.path}:v1", f"{carol.namespace}/{stem}:v1")
    index.catalogued(f"carol/{stem}")
    found = json.loads(carol.ok("search", "--json", carol.host, stem))
    assert [r["name"] for r in found] == [f"carol/{stem}"]
    assert stem in carol.ok("search", carol.host, stem)


def test_a_credential_helper_on_path_stores_and_answers(index: IndexServer, tmp_path: Path) -> None:
    host = index.server.host
    carol = Target("dockyard", host, "carol", CAROL_PASSWORD, tmp_path)
    store = tmp_path / "helper-store.json"
    helper = tmp_path / "bin" / "docker-credential-test"
    helper.parent.mkdir()
    helper.write_text(
        "#!/bin/sh\n"
        f'case "$1" in\n  store) cat > {store} ;;\n  get) cat {store} ;;\n'
        f"  erase) rm -f {store} ;;\nesac\n"
    )
    helper.chmod(0o755)
    (tmp_path / ".docker").mkdir()
    (tmp_path / ".docker" / "config.json").write_text(json.dumps({"credsStore": "test"}))
    path = f"{helper.parent}{os.pathsep}{os.environ['PATH']}"

    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return dockyard(tmp_path, *args, stdin=stdin, env={"PATH": path})

    succeeded(run("login", host, "-u", "carol", "--password-stdin", stdin=CAROL_PASSWORD))
    stored = json.loads(store.read_text())
    assert stored["ServerURL"] == host and stored["Username"] == "<token>" and stored["Secret"]
    assert "auths" not in json.loads((tmp_path / ".docker" / "config.json").read_text())
    layout, _ = multi_platform_layout(tmp_path / "layout", "v1")
    succeeded(run("push", f"oci:{layout.path}:v1", f"{carol.namespace}/{fresh('helped')}:v1"))
    succeeded(run("logout", host))
    assert not store.exists()


def test_tokens_and_robots_push_and_anyone_pulls_a_public_repository(
    index: IndexServer, tmp_path: Path
) -> None:
    """Against Dockyard's index: a personal access token and a robot sign in as docker's
    do (`dockyard login -u carol` / `-u carol+ci` with the token as password) and push; a
    client with no login pulls the public repository back."""
    host = index.server.host
    with index.api(("carol", CAROL_PASSWORD)) as api:
        made = api.post("/api/tokens", json={"name": "cli", "scopes": ["read", "write"]})
        assert made.status_code == 201, made.text
        token = made.json()["token"]
        made = api.post(
            "/api/tokens", json={"name": "ci", "scopes": ["read", "write"], "robot": True}
        )
        assert made.status_code == 201, made.text
        robot = made.json()
    layout, index_descriptor = multi_platform_layout(tmp_path / "layout", "v1")
    pushed = {}
    for who, secret in (("carol", token), ("carol+ci", robot["token"])):
        signed_in = Target("dockyard", host, who, secret, tmp_path / who)
        signed_in.home.mkdir()
        signed_in.login()
        name = f"{host}/carol/{fresh('by-' + who.replace('+', '-'))}"
        out = json.loads(signed_in.ok("push", "--json", f"oci:{layout.path}:v1", f"{name}:v1"))
        assert out["digest"] == index_descriptor["digest"]
        pushed[who] = name
    nobody = tmp_path / "nobody"
    nobody.mkdir()
    for name in pushed.values():
        pulled = nobody / name.rsplit("/", 1)[1]
        succeeded(dockyard(nobody, "pull", "--all-platforms", f"{name}:v1", f"oci:{pulled}:v1"))
        assert top_of(pulled)["digest"] == index_descriptor["digest"]


# --- failures ---------------------------------------------------------------------------------


def test_failures_are_one_line_and_a_non_zero_exit(target: Target) -> None:
    target.login()
    name = f"{target.namespace}/{fresh('absent')}"
    failed_in_one_line(target.dockyard("inspect", f"{name}:v1"), "_UNKNOWN", "404")
    failed_in_one_line(target.dockyard("pull", f"{name}:v1", "oci:out"), "_UNKNOWN")
    failed_in_one_line(target.dockyard("inspect", f"{target.host}/Not/Valid"), "invalid")
    failed_in_one_line(target.dockyard("push", "oci:/nonexistent:v1", f"{name}:v1"), "OCI")
    failed_in_one_line(target.dockyard("tags", "127.0.0.1:9/nothing/here"), "127.0.0.1:9")
    # JSON nested deeper than Python's parser recurses: a layout's index.json, an archive's
    # manifest.json, Docker's config.json.
    deep = "[" * 100_000 + "]" * 100_000
    nested = target.home / "nested"
    nested.mkdir()
    (nested / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    (nested / "index.json").write_text(deep)
    failed_in_one_line(target.dockyard("push", f"oci:{nested}", f"{name}:v1"), "index.json")
    archive = target.home / "nested.tar"
    with tarfile.open(archive, "w") as tar:
        member = tarfile.TarInfo("manifest.json")
        member.size = len(deep)
        tar.addfile(member, io.BytesIO(deep.encode()))
    pushed = target.dockyard("push", f"docker-archive:{archive}", f"{name}:v1")
    failed_in_one_line(pushed, "manifest.json")
    confused = target.home / "confused"
    (confused / ".docker").mkdir(parents=True)
    (confused / ".docker" / "config.json").write_text(deep)
    failed_in_one_line(dockyard(confused, "tags", name), "config.json")
    layout, _ = multi_platform_layout(target.home / "layout", "v1")
    if target.kind == "dockyard":  # dave may not push into carol's namespace
        dave = Target("dockyard", target.host, "dave", "dave-pw-123", target.home / "dave")
        dave.home.mkdir()
        dave.login()
        refused = dave.dockyard("push", f"oci:{layout.path}:v1", f"{name}:v1")
        failed_in_one_line(refused)
        assert any(w in refused.stderr for w in ("DENIED", "UNAUTHORIZED", "401", "403")), (
            refused.stderr
        )
    else:
        refused = target.dockyard("login", target.host, "-u", "alice", "-p", "wrong")
        failed_in_one_line(refused, "401")


def test_a_coroutine_a_library_left_unawaited_adds_nothing_to_the_failure_s_line() -> None:
    # As anyio's connection attempts, cancelled before they started when a transfer failed:
    # Python warned of each on stderr as the command exited.
    probe = (
        "from dockyard.cli import main\n"
        "async def attempt(): pass\n"
        "left = attempt()\n"
        "main(['tags', '127.0.0.1:9/x'])\n"
    )
    result = _python(probe)
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("dockyard: "), result.stderr


def test_client_commands_import_nothing_of_the_server(tmp_path: Path) -> None:
    probe = (
        "import sys\nfrom dockyard.cli import main\n"
        "main(['tags', '127.0.0.1:9/x'])\n"
        'server = [m for m in sys.modules if m.split(\'.\')[:2] in (["dockyard", "registry"],'
        ' ["dockyard", "index"], ["dockyard", "config"], ["dockyard", "auth"],'
        ' ["dockyard", "storage"], ["dockyard", "db"], ["dockyard", "server"])'
        " or m.split('.')[0] in ('sqlalchemy', 'starlette', 'granian', 'pydantic')]\n"
        "print(server)\n"
    )
    result = _python(probe)
    assert result.stdout.strip() == "[]", result.stdout + result.stderr


def _python(program: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=False
    )
