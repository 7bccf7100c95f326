"""Real registry clients (skopeo, podman) run as subprocesses with isolated state.

Each client gets its own auth file, temp dir and (for podman) its own vfs storage under a
temp directory; the environment is passed with `env=`, never set on this process.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class ClientError(RuntimeError):
    pass


def missing(*binaries: str) -> str | None:
    """Why these clients cannot run here, or None if they can."""
    for binary in binaries:
        if shutil.which(binary) is None:
            return f"{binary} is not installed"
    return None


def run_command(
    command: list[str], env: dict[str, str], check: bool, timeout: float, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        command,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and result.returncode != 0:
        output = f"{result.stdout}\n{result.stderr}"
        raise ClientError(f"{' '.join(command)} exited with {result.returncode}:\n{output}")
    return result


def isolated_env(home: Path) -> dict[str, str]:
    """The environment with an empty auth file and a TMPDIR of the client's own."""
    tmp = home / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    auth = home / "auth.json"
    if not auth.exists():
        auth.write_text(json.dumps({"auths": {}}))
    return {**os.environ, "REGISTRY_AUTH_FILE": str(auth), "TMPDIR": str(tmp)}


@dataclass
class Skopeo:
    """skopeo with an empty auth file and its own TMPDIR; --insecure-policy on every call."""

    home: Path

    def env(self) -> dict[str, str]:
        return isolated_env(self.home)

    def run(
        self, *args: str, check: bool = True, timeout: float = 120, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        return run_command(
            ["skopeo", "--insecure-policy", *args], self.env(), check, timeout, stdin
        )

    def copy(self, source: str, destination: str, *flags: str) -> str:
        """Copy source to destination; returns the digest skopeo wrote to --digestfile."""
        digestfile = self.home / "digest"
        digestfile.unlink(missing_ok=True)
        self.run(
            "copy",
            *flags,
            "--digestfile", str(digestfile),
            *self._tls(source, "src"),
            *self._tls(destination, "dest"),
            source,
            destination,
        )  # fmt: skip
        return digestfile.read_text().strip()

    def inspect_raw(self, image: str) -> bytes:
        result = subprocess.run(
            ["skopeo", "--insecure-policy", "inspect", "--raw", *self._tls(image, "tls"), image],
            env=self.env(),
            capture_output=True,
            timeout=60,
            check=False,
        )
        if result.returncode != 0:
            raise ClientError(f"skopeo inspect --raw {image}: {result.stderr.decode()}")
        return result.stdout

    def list_tags(self, image: str) -> list[str]:
        output = self.run("list-tags", *self._tls(image, "tls"), image).stdout
        tags: list[str] = json.loads(output)["Tags"]
        return tags

    def delete(self, image: str) -> None:
        self.run("delete", *self._tls(image, "tls"), image)

    @staticmethod
    def _tls(image: str, side: str) -> list[str]:
        if not image.startswith("docker://"):
            return []
        return ["--tls-verify=false"] if side == "tls" else [f"--{side}-tls-verify=false"]


@dataclass
class Podman:
    """podman (and buildah, same storage) as root with the vfs driver in a temp root."""

    home: Path

    def _storage(self) -> list[str]:
        return [
            "--storage-driver", "vfs",
            "--root", str(self.home / "root"),
            "--runroot", str(self.home / "run"),
        ]  # fmt: skip

    def env(self) -> dict[str, str]:
        return isolated_env(self.home)

    def podman(
        self, *args: str, check: bool = True, timeout: float = 120, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        command = [
            "podman",
            *self._storage(),
            "--tmpdir", str(self.home / "libpod"),
            "--events-backend", "none",
            "--cgroup-manager", "cgroupfs",
            *args,
        ]  # fmt: skip
        return run_command(command, self.env(), check, timeout, stdin)

    def buildah(
        self, *args: str, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        return run_command(["buildah", *self._storage(), *args], self.env(), check, timeout)

    def inspect(self, image: str) -> dict[str, Any]:
        output = self.podman("image", "inspect", image).stdout
        documents: list[dict[str, Any]] = json.loads(output)
        return documents[0]
