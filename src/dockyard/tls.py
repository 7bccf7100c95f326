"""HTTPS served by Dockyard itself: the files checked at start-up, and watched while serving.

Granian's workers load the certificate, key and client CAs when they start. So a rotation is a
graceful restart of the workers: the supervisor polls the files' modification times, checks
that the new files make a usable server context (a certificate replaced before its key is not
yet one: the next change is waited for), and asks Granian to respawn its workers one by one,
each new worker listening before the old one stops taking connections and finishes its
requests. No request is refused on the way (docs/operations.md#tls).
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dockyard.config import ConfigError, TlsSettings

log = logging.getLogger("dockyard")

# How often the supervisor looks at the files: a few stat() calls a second.
POLL_SECONDS = 1.0


@dataclass(frozen=True)
class ServedFiles:
    """The copies the workers load, under `<data_dir>/tls/`: written only once they make a
    usable server context together, so a worker never starts on a certificate without its key.
    Copies, not the configured paths, also because Granian resolves symbolic links once: a
    rotation that swaps a link (Kubernetes' secret volumes) would leave it on the old files."""

    certificate: Path
    key: Path
    client_cas: Path | None

    @classmethod
    def under(cls, settings: TlsSettings, data_dir: Path) -> ServedFiles:
        folder = data_dir.resolve() / "tls"
        cas = folder / "client-cas.pem" if settings.client_cas else None
        return cls(folder / "certificate.pem", folder / "key.pem", cas)

    def write(self, settings: TlsSettings) -> None:
        """Copy the configured files here if they are usable; raises (and changes nothing)
        if not."""
        assert settings.certificate is not None and settings.key is not None
        self.certificate.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        sources = {self.certificate: [settings.certificate], self.key: [settings.key]}
        if self.client_cas is not None:
            sources[self.client_cas] = settings.client_cas
        partials = {}
        try:
            for target, paths in sources.items():
                partial = partials[target] = target.with_suffix(".partial")
                partial.touch(mode=0o600)
                partial.write_bytes(b"".join(_pem(path) for path in paths))
            cas = partials[self.client_cas] if self.client_cas is not None else None
            _check(partials[self.certificate], partials[self.key], cas)
            for target, partial in partials.items():
                partial.replace(target)
        finally:
            for partial in partials.values():
                partial.unlink(missing_ok=True)


def _pem(path: Path) -> bytes:
    return path.read_bytes().rstrip(b"\n") + b"\n"


def _check(certificate: Path, key: Path, client_cas: Path | None) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    # Checks the chain's PEM, the key's, and that they belong together.
    context.load_cert_chain(certificate, key)
    if client_cas is not None:
        context.load_verify_locations(cafile=client_cas)


def prepare(settings: TlsSettings, data_dir: Path) -> ServedFiles:
    """At start-up: the files the workers load; ConfigError naming what is wrong."""
    served = ServedFiles.under(settings, data_dir)
    try:
        served.write(settings)
    except (OSError, ssl.SSLError, ValueError) as exc:
        raise ConfigError(f"http.tls: {_reason(exc, settings)}") from None
    return served


def _reason(exc: BaseException, settings: TlsSettings) -> str:
    if isinstance(exc, ssl.SSLError):
        # OpenSSL's own words name no file ("[SSL] PEM lib (_ssl.c:3905)").
        return (
            f"the certificate {settings.certificate} and key {settings.key} do not load as a"
            f" PEM certificate chain and its private key (OpenSSL: {exc.reason or exc})"
        )
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.filename}: {exc.strerror}"
    return str(exc) or type(exc).__name__


class TlsFilesWatcher:
    """In the supervisor: calls `restart_workers` once the TLS files changed and are usable."""

    def __init__(
        self, settings: TlsSettings, served: ServedFiles, restart_workers: Callable[[], None]
    ) -> None:
        self.settings = settings
        self.served = served
        self.restart_workers = restart_workers
        self.paths = [settings.certificate, settings.key, *settings.client_cas]
        self.seen = self.stamp()

    def stamp(self) -> tuple[tuple[int, int, int] | None, ...]:
        """What identifies each file's content cheaply: inode, size, modification time."""
        stamps: list[tuple[int, int, int] | None] = []
        for path in self.paths:
            try:
                info = Path(str(path)).stat()
            except OSError:
                stamps.append(None)
            else:
                stamps.append((info.st_ino, info.st_size, info.st_mtime_ns))
        return tuple(stamps)

    def start(self) -> None:
        threading.Thread(target=self._run, name="dockyard-tls-watch", daemon=True).start()

    def _run(self) -> None:
        while True:
            time.sleep(POLL_SECONDS)
            self.look()

    def look(self) -> bool:
        """One look at the files; True when the workers were asked to restart."""
        now = self.stamp()
        if now == self.seen:
            return False
        self.seen = now
        try:
            self.served.write(self.settings)
        except (OSError, ssl.SSLError, ValueError) as exc:
            log.warning(
                "TLS files changed but cannot be used (%s): still serving the previous ones",
                _reason(exc, self.settings),
            )
            return False
        log.info("TLS files changed: the workers restart with them, one by one")
        self.restart_workers()
        return True
