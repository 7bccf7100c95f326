"""The access model: credentials in, a Grant out; challenges; configuration of the modes."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

import bcrypt
import pytest

from dockyard.auth.access import (
    EVERYTHING,
    BasicAccess,
    Grant,
    TokenAccess,
    Unauthenticated,
)
from dockyard.auth.credentials import (
    BasicCredentials,
    BearerToken,
    MalformedCredentials,
    parse_authorization,
)
from dockyard.auth.factory import create_auth
from dockyard.auth.htpasswd import HtpasswdFile
from dockyard.auth.keys import load_or_generate_signing_key
from dockyard.auth.scopes import CATALOG, Scope, repository_scope
from dockyard.auth.tokens import TokenIssuer, TokenVerifier
from dockyard.config import ConfigError, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for variable in list(os.environ):
        if variable.startswith("DOCKYARD_") or variable == "DOCKER_REGISTRY_CONFIG":
            monkeypatch.delenv(variable)


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_basic_and_bearer_credentials_are_read() -> None:
    assert parse_authorization(basic("alice", "a:b")) == BasicCredentials("alice", "a:b")
    assert parse_authorization("bearer abc.def-_~+/=") == BearerToken("abc.def-_~+/=")
    assert parse_authorization(None) is None
    assert parse_authorization("  ") is None


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("Basic !!!", "base64"),
        ("Basic " + base64.b64encode(b"\xff\xfe").decode(), "UTF-8"),
        ("Basic " + base64.b64encode(b"no-colon").decode(), "user:password"),
        ("Basic " + base64.b64encode(b":password").decode(), "user:password"),
        ("Basic", "base64|user:password"),
        ("Bearer", "Bearer token"),
        ("Bearer a b", "Bearer token"),
        ("Bearer <script>", "Bearer token"),
        ("Digest username=x", "Basic or Bearer"),
        ("Bearer " + "a" * 20000, "too large"),
    ],
)
def test_malformed_headers_say_what_is_wrong(header: str, reason: str) -> None:
    with pytest.raises(MalformedCredentials, match=reason):
        parse_authorization(header)


def test_credentials_never_show_in_their_repr() -> None:
    assert "s3cret" not in repr(BasicCredentials("alice", "s3cret"))
    assert "tok" not in repr(BearerToken("tok"))


def test_grant_matches_type_name_and_action() -> None:
    grant = Grant("alice", (repository_scope("a", "pull"), repository_scope("b", "*"), CATALOG))
    assert grant.covers(repository_scope("a", "pull"))
    assert not grant.covers(repository_scope("a", "pull", "push"))
    assert grant.covers(repository_scope("b", "pull", "push", "delete"))
    assert not grant.covers(repository_scope("a/b", "pull"))
    assert not grant.covers(Scope("registry", "a", ("pull",)))
    assert grant.covers(CATALOG)
    assert EVERYTHING.covers(repository_scope("anything", "delete"))


def test_token_challenge_names_realm_service_scope_and_error(tmp_path: Path) -> None:
    key = load_or_generate_signing_key(tmp_path, "iss")
    verifier = TokenVerifier([key.public_key], "iss", "svc")
    derived = TokenAccess(verifier, None, "svc")
    assert derived.challenge("http://127.0.0.1:5000/", None, None) == (
        'Bearer realm="http://127.0.0.1:5000/token",service="svc"'
    )
    explicit = TokenAccess(verifier, "https://auth.example/token", "svc")
    assert explicit.challenge("http://x/", repository_scope("a/b", "pull", "push"), "e") == (
        'Bearer realm="https://auth.example/token",service="svc",'
        'scope="repository:a/b:pull,push",error="e"'
    )


def test_token_access_grants_the_tokens_access_only(tmp_path: Path) -> None:
    key = load_or_generate_signing_key(tmp_path, "iss")
    access = TokenAccess(TokenVerifier([key.public_key], "iss", "svc"), None, "svc")
    token = TokenIssuer(key, "iss", 300).issue("alice", "svc", [repository_scope("a", "pull")])
    grant = asyncio.run(access.grant(f"Bearer {token.token}"))
    assert grant.subject == "alice"
    assert grant.covers(repository_scope("a", "pull"))
    assert not grant.covers(repository_scope("a", "push"))
    for header, error in [
        (None, None),
        ("Bearer nonsense", "invalid_token"),
        (basic("a", "b"), None),
    ]:
        with pytest.raises(Unauthenticated) as refused:
            asyncio.run(access.grant(header))
        assert refused.value.error == error


def test_basic_access_grants_everything_to_users_of_the_file(tmp_path: Path) -> None:
    path = tmp_path / "htpasswd"
    path.write_text("alice:" + bcrypt.hashpw(b"pw", bcrypt.gensalt(4)).decode() + "\n")
    access = BasicAccess(HtpasswdFile(path), "my realm")
    grant = asyncio.run(access.grant(basic("alice", "pw")))
    assert grant.everything and grant.subject == "alice"
    for header in (None, basic("alice", "nope"), "Bearer abc", "Basic %%%"):
        with pytest.raises(Unauthenticated):
            asyncio.run(access.grant(header))
    assert access.challenge("http://x/", None, None) == 'Basic realm="my realm"'


# --- configuration -------------------------------------------------------------------------


def test_auth_defaults_to_the_index_token_service(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    assert settings.auth.mode == "index"
    auth = create_auth(settings)
    assert not auth.access.open
    assert auth.token_service is not None
    assert auth.routes  # the index's /api


def test_auth_none_is_open() -> None:
    assert create_auth(load_settings(auth={"mode": "none"})).access.open


def test_htpasswd_mode_without_a_file_names_the_key() -> None:
    with pytest.raises(ConfigError, match=r"auth\.htpasswd\.path is required"):
        load_settings(auth={"mode": "htpasswd"})


@pytest.mark.parametrize(
    ("auth", "key"),
    [
        ({"token": {"realm": "ftp://auth"}}, "auth.token.realm"),
        ({"token": {"service": 'bad"quote'}}, "auth.token.service"),
        ({"token": {"issuer": ""}}, "auth.token.issuer"),
        ({"token": {"lifetime_seconds": 10}}, "auth.token.lifetime_seconds"),
        ({"htpasswd": {"realm": "a\nb"}}, "auth.htpasswd.realm"),
        ({"mode": "ldap"}, "auth.mode"),
        ({"tokens": {}}, "auth.tokens"),
    ],
)
def test_invalid_auth_settings_name_the_key(auth: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_settings(auth=auth)


@pytest.mark.parametrize(
    ("auth", "key"),
    [
        ({"mode": "htpasswd", "htpasswd": {"path": "/nonexistent/htpasswd"}}, "auth.htpasswd.path"),
        (
            {"mode": "token", "token": {"signing_key": "/nonexistent/key.pem"}},
            "auth.token.signing_key",
        ),
        (
            {"mode": "token", "token": {"rootcertbundle": "/nonexistent/bundle.pem"}},
            "auth.token.rootcertbundle",
        ),
    ],
)
def test_unusable_auth_files_name_the_key(
    tmp_path: Path, auth: dict[str, object], key: str
) -> None:
    settings = load_settings(data_dir=tmp_path, auth=auth)
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        create_auth(settings)


def test_token_mode_generates_its_key_under_the_data_dir(tmp_path: Path) -> None:
    auth = create_auth(load_settings(data_dir=tmp_path, auth={"mode": "token"}))
    assert (tmp_path / "auth" / "signing-key.pem").exists()
    assert (tmp_path / "auth" / "signing-cert.pem").exists()
    assert auth.token_service is not None
    assert not auth.access.open
