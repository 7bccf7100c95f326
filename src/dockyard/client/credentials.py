"""Where credentials come from: given in code, or read the way docker reads them
(`~/.docker/config.json`: `auths` with base64 `auth`, `credsStore`, `credHelpers` running
`docker-credential-NAME get`), so the client shares logins with docker, podman and skopeo."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from dockyard.client.errors import NOT_JSON
from dockyard.client.reference import DOCKER_HUB

# The key docker uses for Docker Hub in config.json and with credential helpers.
DOCKER_HUB_KEY = "https://index.docker.io/v1/"


class CredentialsError(Exception):
    """The configuration or a credential helper could not be read."""


@dataclass(frozen=True, slots=True)
class Credential:
    """A username and password, or an identity token (an OAuth2 refresh token, what
    `docker login` stores when the token server hands one out)."""

    username: str | None = None
    password: str | None = None
    identity_token: str | None = None

    def __repr__(self) -> str:  # never print secrets in tracebacks or logs
        return f"Credential(username={self.username!r}, ...)"


class Credentials(Protocol):
    """A source of credentials per registry (`host[:port]`, or `docker.io`)."""

    async def get(self, registry: str) -> Credential | None: ...


class Anonymous:
    async def get(self, registry: str) -> Credential | None:
        return None


class StaticCredentials:
    """Credentials given in code, per registry."""

    def __init__(self, by_registry: dict[str, Credential]) -> None:
        self.by_registry = dict(by_registry)

    async def get(self, registry: str) -> Credential | None:
        return self.by_registry.get(registry)


class ChainedCredentials:
    """The first source that knows the registry wins."""

    def __init__(self, *sources: Credentials) -> None:
        self.sources = sources

    async def get(self, registry: str) -> Credential | None:
        for source in self.sources:
            found = await source.get(registry)
            if found is not None:
                return found
        return None


def docker_config_path() -> Path:
    """`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`, as docker looks for it."""
    folder = os.environ.get("DOCKER_CONFIG")
    return Path(folder) / "config.json" if folder else Path.home() / ".docker" / "config.json"


class DockerConfig:
    """Credentials from docker's config.json and its credential helpers; read when first
    asked, helpers' answers kept for the life of this object."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else docker_config_path()
        self._document: dict[str, Any] | None = None
        self._helped: dict[str, Credential | None] = {}

    async def get(self, registry: str) -> Credential | None:
        document = self._load()
        helper = _helper_for(document, registry)
        if helper is not None:
            if registry not in self._helped:
                self._helped[registry] = await run_helper(helper, _server_key(registry))
            return self._helped[registry]
        auths = document.get("auths")
        if not isinstance(auths, dict):
            return None
        for key in _keys(registry):
            entry = auths.get(key)
            if isinstance(entry, dict):
                return _from_auth_entry(entry, self.path)
        return None

    def _load(self) -> dict[str, Any]:
        if self._document is None:
            try:
                document = json.loads(self.path.read_text())
            except FileNotFoundError:
                document = {}
            except (OSError, *NOT_JSON) as exc:
                raise CredentialsError(f"cannot read {self.path}: {exc}") from None
            self._document = document if isinstance(document, dict) else {}
        return self._document


async def run_helper(helper: str, server: str) -> Credential | None:
    """`docker-credential-HELPER get` with the server on stdin: None when it knows none."""
    program = f"docker-credential-{helper}"
    try:
        process = await asyncio.create_subprocess_exec(
            program,
            "get",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except OSError as exc:
        raise CredentialsError(f"cannot run {program}: {exc}") from None
    out, err = await process.communicate(server.encode())
    if process.returncode != 0:
        message = (out or err).decode("utf-8", "replace").strip()
        if "credentials not found" in message.lower():
            return None
        raise CredentialsError(
            f"{program} get failed: {message.splitlines()[0] if message else ''}"
        )
    try:
        answer = json.loads(out)
        username, secret = answer["Username"], answer["Secret"]
    except (*NOT_JSON, KeyError, TypeError):
        raise CredentialsError(
            f"{program} get answered something that is not credentials"
        ) from None
    if username == "<token>":  # docker's convention: the secret is an identity token
        return Credential(identity_token=secret)
    return Credential(username=username, password=secret)


def store_credential(
    registry: str, credential: Credential, username: str | None = None, path: Path | None = None
) -> str | None:
    """Save a login where docker saves it: with the credential helper config.json names for
    the registry (the helper's name is returned), else in `auths` (base64 `auth`, and the
    `identitytoken` when the credential is a refresh token). The file stays owner-only."""
    path = path if path is not None else docker_config_path()
    document = _read_document(path)
    helper = _helper_for(document, registry)
    user = credential.username or username or ""
    if helper is not None:
        token = credential.identity_token
        secret = token if token else credential.password or ""
        payload = {"ServerURL": _server_key(registry), "Username": "<token>" if token else user,
                   "Secret": secret}  # fmt: skip
        _call_helper(helper, "store", json.dumps(payload))
        return helper
    auths = document.setdefault("auths", {})
    if not isinstance(auths, dict):
        raise CredentialsError(f"{path}: `auths` is not an object")
    for key in _keys(registry):
        auths.pop(key, None)
    pair = f"{user}:{'' if credential.identity_token else credential.password or ''}"
    entry: dict[str, str] = {"auth": base64.b64encode(pair.encode()).decode()}
    if credential.identity_token:
        entry["identitytoken"] = credential.identity_token
    auths[_server_key(registry)] = entry
    _write_document(path, document)
    return None


def erase_credential(registry: str, path: Path | None = None) -> bool:
    """Forget a login (`docker logout`): from the helper, or from `auths`; False if there was
    none in `auths` (a helper is always asked)."""
    path = path if path is not None else docker_config_path()
    document = _read_document(path)
    helper = _helper_for(document, registry)
    if helper is not None:
        _call_helper(helper, "erase", _server_key(registry))
        return True
    auths = document.get("auths")
    if not isinstance(auths, dict):
        return False
    removed = [key for key in _keys(registry) if auths.pop(key, None) is not None]
    if removed:
        _write_document(path, document)
    return bool(removed)


def _read_document(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, *NOT_JSON) as exc:
        raise CredentialsError(f"cannot read {path}: {exc}") from None
    if not isinstance(document, dict):
        raise CredentialsError(f"{path} is not a JSON object")
    return document


def _write_document(path: Path, document: dict[str, Any]) -> None:
    """Written beside and renamed, mode 0600 (it holds passwords), as docker writes it."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as output:
        output.write(json.dumps(document, indent="\t") + "\n")
    temporary.replace(path)


def _call_helper(helper: str, action: str, stdin: str) -> None:
    program = f"docker-credential-{helper}"
    try:
        result = subprocess.run(
            [program, action], input=stdin.encode(), capture_output=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CredentialsError(f"cannot run {program}: {exc}") from None
    if result.returncode != 0:
        message = (result.stdout or result.stderr).decode("utf-8", "replace").strip()
        first = message.splitlines()[0] if message else f"exit status {result.returncode}"
        raise CredentialsError(f"{program} {action} failed: {first}")


def _helper_for(document: dict[str, Any], registry: str) -> str | None:
    helpers = document.get("credHelpers")
    if isinstance(helpers, dict):
        for key in _keys(registry):
            if isinstance(helpers.get(key), str):
                return str(helpers[key])
    store = document.get("credsStore")
    return store if isinstance(store, str) and store else None


def _server_key(registry: str) -> str:
    return DOCKER_HUB_KEY if registry == DOCKER_HUB else registry


def _keys(registry: str) -> list[str]:
    """The spellings docker has written for one registry over the years."""
    if registry == DOCKER_HUB:
        return [DOCKER_HUB_KEY, "index.docker.io", "docker.io", "registry-1.docker.io"]
    return [registry, f"https://{registry}", f"http://{registry}", f"https://{registry}/v1/"]


def _from_auth_entry(entry: dict[str, Any], path: Path) -> Credential | None:
    identity = entry.get("identitytoken")
    if isinstance(identity, str) and identity:
        return Credential(identity_token=identity)
    auth = entry.get("auth")
    if isinstance(auth, str) and auth:
        try:
            username, colon, password = base64.b64decode(auth).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise CredentialsError(f"{path}: an `auth` entry is not base64 user:password") from None
        if not colon:
            raise CredentialsError(f"{path}: an `auth` entry has no ':' between user and password")
        return Credential(username=username, password=password)
    user, secret = entry.get("username"), entry.get("password")
    if isinstance(user, str) and isinstance(secret, str):
        return Credential(username=user, password=secret)
    return None
