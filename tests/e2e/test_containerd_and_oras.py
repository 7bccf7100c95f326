"""containerd (its `ctr` client, the registry client Kubernetes' nodes pull with) and ORAS
(oras-py, the ORAS project's Python client) against Dockyard: in the default `auth.mode:
index`, pulled anonymously while public, refused to strangers once private and pulled by the
owner through the token service (and pushed through it by ctr); oras-py pushes with Basic
credentials to a standalone registry (htpasswd)."""

from __future__ import annotations

import asyncio
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import oras.client
import pytest
import requests

from dockyard.client import Credential, HostOptions, RegistryClient, StaticCredentials
from dockyard.client.artifacts import push_artifact
from tests.support.auth import htpasswd
from tests.support.containerd import Containerd, containerd_available, containerd_daemon
from tests.support.index import IndexServer, index_server
from tests.support.oci_layout import Layout
from tests.support.servers import dockyard_server

pytestmark = pytest.mark.e2e

ALICE = ("alice", "alice-pw-1")
BOB = ("bob", "bob-pw-1")


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IndexServer]:
    with index_server(tmp_path_factory.mktemp("containerd-oras") / "data") as index:
        index.sign_up(ALICE, BOB)
        yield index


@pytest.fixture
def containerd() -> Iterator[Containerd]:
    reason = containerd_available()
    if reason is not None:
        pytest.fail(f"{reason} (make test installs the Debian packages)")
    with containerd_daemon() as daemon:
        yield daemon


def make_private(hub: IndexServer, repository: str) -> None:
    with hub.api(ALICE) as api:
        changed = api.patch(f"/api/repositories/{repository}", json={"visibility": "private"})
    assert changed.status_code == 200, changed.text


def user(credentials: tuple[str, str]) -> list[str]:
    return ["--user", ":".join(credentials)]


def test_containerd_pushes_and_pulls_through_the_token_service(
    hub: IndexServer, containerd: Containerd, tmp_path: Path
) -> None:
    repository = f"alice/ctr-{uuid.uuid4().hex[:8]}"
    reference = f"{hub.server.host}/{repository}:v1"
    layout = Layout(tmp_path / "layout")
    nonce = uuid.uuid4().hex.encode()
    children = [
        layout.add_image([{"etc/arch": arch.encode() + nonce}], architecture=arch)
        for arch in ("amd64", "arm64")
    ]
    index = layout.add_index(children)
    layout.tag("v1", index)
    archive = tmp_path / "layout.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(layout.path, arcname=".")
    base = reference.removesuffix(":v1")
    containerd.ctr("images", "import", "--all-platforms", "--base-name", base, str(archive))

    anonymous = containerd.ctr("images", "push", "--plain-http", reference, check=False)
    assert anonymous.returncode != 0 and "authorization failed" in anonymous.stderr, (
        anonymous.stderr
    )
    containerd.ctr("images", "push", "--plain-http", *user(ALICE), reference)
    hub.catalogued(repository)  # public from the moment the index applied its first push

    def pulled(namespace: str, *credentials: str) -> str | None:
        """The digest `ctr` pulled into an empty namespace; None when the pull failed."""
        pull = ["--namespace", namespace, "images", "pull", "--plain-http", "--all-platforms"]
        done = containerd.ctr(
            *pull, "--snapshotter", "native", *credentials, reference, check=False
        )
        if done.returncode != 0:
            return None
        listed = containerd.ctr("--namespace", namespace, "images", "ls").stdout
        (line,) = [line for line in listed.splitlines() if line.startswith(reference)]
        return line.split()[2]

    assert pulled("anonymous") == index["digest"]  # public by default
    make_private(hub, repository)
    assert pulled("stranger-anonymous") is None
    assert pulled("stranger-bob", *user(BOB)) is None
    assert pulled("owner", *user(ALICE)) == index["digest"]


NOTES = "what the artifact carries\n"


def oras_client(host: str, basic: bool = False) -> oras.client.OrasClient:
    return oras.client.OrasClient(
        hostname=host, insecure=True, auth_backend="basic" if basic else "token"
    )


def oras_pull(client: oras.client.OrasClient, target: str, into: Path) -> str | None:
    """The file pulled, as text; None when the registry refused it (oras-py raises its
    ValueError, or requests' HTTPError, with the registry's answer)."""
    try:
        files = client.pull(target=target, outdir=str(into))
    except (ValueError, requests.HTTPError) as refused:
        said = str(refused).lower()
        assert any(word in said for word in ("401", "403", "unauthorized", "denied")), said
        return None
    return Path(files[0]).read_text()


def test_oras_pulls_through_the_token_service(hub: IndexServer, tmp_path: Path) -> None:
    # Pushed here with Dockyard's own client: oras-py's token flow keeps the first token it
    # got, and a push's HEAD gets one for pull, which the upload's 401 (asking for push, as
    # the token spec and Distribution answer) does not renew (it does after a 403 only).
    # Its push is tested against Basic credentials below.
    host = hub.server.host
    repository = f"alice/oras-{uuid.uuid4().hex[:8]}"
    (tmp_path / "notes.txt").write_text(NOTES)

    async def push() -> None:
        credentials = StaticCredentials({host: Credential(*ALICE)})
        options = {host: HostOptions(insecure=True)}
        async with RegistryClient(credentials, options) as client:
            await push_artifact(client.registry(host).repository(repository),
                                [tmp_path / "notes.txt"], "text/plain", tag="v1")  # fmt: skip

    asyncio.run(push())
    hub.catalogued(repository)  # public from the moment the index applied its first push
    target = f"{host}/{repository}:v1"
    assert oras_pull(oras_client(host), target, tmp_path / "anonymous") == NOTES  # public
    make_private(hub, repository)
    assert oras_pull(oras_client(host), target, tmp_path / "stranger") is None
    for name, credentials, expected in (("bob", BOB, None), ("alice", ALICE, NOTES)):
        signed_in = oras_client(host)
        signed_in.login(*credentials, hostname=host, config_path=str(tmp_path / f"{name}.json"))
        assert oras_pull(signed_in, target, tmp_path / name) == expected


def test_oras_pushes_and_pulls_with_basic_credentials(tmp_path: Path) -> None:
    users = tmp_path / "htpasswd"
    htpasswd(users, *ALICE)
    env = {"DOCKYARD_AUTH__MODE": "htpasswd", "DOCKYARD_AUTH__HTPASSWD__PATH": str(users)}
    with dockyard_server(tmp_path / "data", env=env) as server:
        target = f"{server.host}/artifacts/notes:v1"
        (tmp_path / "notes.txt").write_text(NOTES)
        alice = oras_client(server.host, basic=True)
        alice.login(*ALICE, hostname=server.host, config_path=str(tmp_path / "alice.json"))
        with pytest.MonkeyPatch.context() as patch:
            patch.chdir(tmp_path)  # oras-py titles a file with its path as given
            pushed = alice.push(target=target, files=["notes.txt:text/plain"])
        assert pushed.status_code == 201, pushed.text
        manifest = alice.get_manifest(target)
        (layer,) = manifest["layers"]
        assert layer["annotations"]["org.opencontainers.image.title"] == "notes.txt"
        assert alice.get_tags(f"{server.host}/artifacts/notes") == ["v1"]
        assert oras_pull(alice, target, tmp_path / "back") == NOTES
