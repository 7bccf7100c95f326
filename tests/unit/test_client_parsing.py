"""The client's parsers of untrusted text: image references (as Docker parses them) and
WWW-Authenticate challenges. Examples, then properties: never a crash, and round trips."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dockyard.client import Challenge, InvalidReference, Reference
from dockyard.client.challenge import format_challenges, parse_challenges
from dockyard.client.reference import is_loopback
from dockyard.client.transport import HostOptions

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ubuntu", "docker.io/library/ubuntu:latest"),
        ("ubuntu:22.04", "docker.io/library/ubuntu:22.04"),
        ("alice/app", "docker.io/alice/app:latest"),
        ("index.docker.io/alice/app:1", "docker.io/alice/app:1"),
        ("docker.io/ubuntu", "docker.io/library/ubuntu:latest"),
        ("localhost/app", "localhost/app:latest"),
        ("localhost:5000/ns/app:v1", "localhost:5000/ns/app:v1"),
        ("127.0.0.1:5000/ns/name:tag@" + DIGEST, "127.0.0.1:5000/ns/name:tag@" + DIGEST),
        ("quay.io/a/b/c@" + DIGEST, "quay.io/a/b/c@" + DIGEST),
        ("[::1]:5000/app", "[::1]:5000/app:latest"),
        ("Registry.Example/app", "Registry.Example/app:latest"),
        ("host:65535/app", "host:65535/app:latest"),
    ],
)
def test_references_are_normalised_as_docker_does(text: str, expected: str) -> None:
    assert str(Reference.parse(text)) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "app/UPPER",
        "app:",
        "app@sha256:abc",
        "a//b",
        "host:5000/app:bad tag",
        " app",
        "app:-x",
        # Ports past TCP's (a traceback from the socket before).
        "127.0.0.1:99999/app",
        "host:0/app",
        "[::1]:65536/app",
        "host:000001/app",
    ],
)
def test_malformed_references_are_refused_clearly(text: str) -> None:
    with pytest.raises(InvalidReference):
        Reference.parse(text)


def test_the_manifest_reference_is_the_digest_when_there_is_one() -> None:
    reference = Reference.parse("h.io/app:v1@" + DIGEST)
    assert (reference.tag, reference.reference, reference.name) == ("v1", DIGEST, "h.io/app")


@pytest.mark.parametrize(
    ("host", "scheme"),
    [("localhost:5000", "http"), ("127.0.0.1:5000", "http"), ("127.9.9.9", "http"),
     ("[::1]:5000", "http"), ("registry.example:5000", "https"), ("10.0.0.1:5000", "https")],
)  # fmt: skip
def test_loopback_registries_are_plain_http_like_dockers(host: str, scheme: str) -> None:
    assert HostOptions().scheme(host) == scheme
    assert HostOptions(insecure=True).scheme(host) == "http"
    assert is_loopback(host) == (scheme == "http")


def test_the_token_specs_challenge() -> None:
    header = (
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
        'scope="repository:samalba/my-app:pull,push"'
    )
    (challenge,) = parse_challenges(header)
    assert challenge.scheme == "bearer"
    assert challenge.realm == "https://auth.docker.io/token"
    assert challenge.service == "registry.docker.io"
    assert challenge.scopes == ("repository:samalba/my-app:pull,push",)


def test_several_challenges_escapes_and_spacing() -> None:
    header = 'Basic realm="a \\"quoted\\" realm" , Bearer  realm = "r", error="insufficient_scope"'
    basic, bearer = parse_challenges(header)
    assert basic == Challenge("basic", {"realm": 'a "quoted" realm'})
    assert bearer == Challenge("bearer", {"realm": "r", "error": "insufficient_scope"})
    assert parse_challenges('Bearer scope="repository:a:pull repository:b:pull"')[0].scopes == (
        "repository:a:pull",
        "repository:b:pull",
    )


@given(st.text())
def test_any_text_parses_to_challenges_without_a_crash(text: str) -> None:
    for challenge in parse_challenges(text):
        assert challenge.scheme
        assert challenge.scheme == challenge.scheme.lower()


_TOKEN = st.text("abcdefghijklmnopqrstuvwxyz0123456789-._~+!#$%&'*^`|", min_size=1, max_size=12)
_CHALLENGES = st.lists(
    st.builds(
        Challenge,
        _TOKEN.map(str.lower),
        st.dictionaries(_TOKEN.map(str.lower), st.text(max_size=30), max_size=4),
    ),
    max_size=4,
)


@given(_CHALLENGES)
def test_challenges_round_trip(challenges: list[Challenge]) -> None:
    assert parse_challenges(format_challenges(challenges)) == challenges


@given(st.text(max_size=80))
def test_any_text_is_a_reference_or_refused_clearly(text: str) -> None:
    try:
        reference = Reference.parse(text)
    except InvalidReference:
        return
    assert Reference.parse(str(reference)) == reference


_COMPONENT = st.from_regex(r"\A[a-z0-9]{1,8}(?:[._-][a-z0-9]{1,5})?\Z")
_HOSTS = st.sampled_from(["docker.io", "localhost", "localhost:5000", "r.example", "10.1.2.3:443"])


@given(
    _HOSTS,
    st.lists(_COMPONENT, min_size=1, max_size=3),
    st.one_of(st.none(), st.from_regex(r"\A[a-zA-Z0-9_][a-zA-Z0-9._-]{0,20}\Z")),
    st.one_of(st.none(), st.just(DIGEST)),
)
def test_built_references_round_trip(
    host: str, path: list[str], tag: str | None, digest: str | None
) -> None:
    text = (
        f"{host}/{'/'.join(path)}" + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")
    )
    reference = Reference.parse(text)
    assert reference.registry == host
    assert reference.tag == (tag or (None if digest else "latest"))
    assert Reference.parse(str(reference)) == reference
