"""Settings: defaults < YAML file < environment < command-line flags, validated at start-up.

Every key can be set from the environment as `DOCKYARD_<SECTION>__<KEY>` (for example
`DOCKYARD_STORAGE__ROOT`). The original registry's `DOCKER_REGISTRY_CONFIG` (the file),
`STORAGE_PATH` (the storage root) and `SQLALCHEMY_INDEX_DATABASE` (the database URL) are
honoured too.
"""

from __future__ import annotations

import ipaddress
import os
import re
import ssl
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_serializer,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from dockyard.oci.names import is_valid_name

_config_file: ContextVar[Path | None] = ContextVar("dockyard_config_file", default=None)


class ConfigError(Exception):
    """The configuration cannot be used; the message names the key."""


class CannotStart(Exception):
    """What the configuration names cannot be used now (a database that does not answer, a
    storage directory that cannot be written): the message says which, and why, in a line."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TlsSettings(_Section):
    """HTTPS served by Dockyard itself (docs/operations.md#tls)."""

    # PEM files: the certificate chain (leaf first) and its private key; both, or neither
    # (plain HTTP). Re-read when they change on disk: no restart to rotate them.
    certificate: Path | None = None
    key: Path | None = None
    # PEM files of the certificate authorities whose client certificates are accepted; set,
    # every client must present one (Distribution's `clientcas`).
    client_cas: list[Path] = []
    minimum_version: Literal["tls1.2", "tls1.3"] = "tls1.2"

    @model_validator(mode="after")
    def _pair(self) -> TlsSettings:
        if (self.certificate is None) != (self.key is None):
            raise PydanticCustomError(
                "tls_pair", "http.tls.certificate and http.tls.key go together"
            )
        if self.client_cas and self.certificate is None:
            raise PydanticCustomError(
                "tls_client_cas", "http.tls.client_cas needs http.tls.certificate and key"
            )
        return self

    @property
    def enabled(self) -> bool:
        return self.certificate is not None


class DebugSettings(_Section):
    """Prometheus metrics (docs/operations.md#metrics); off unless one of these is set."""

    # HOST:PORT of a listener of its own for GET /metrics, as Distribution's `http.debug.addr`.
    addr: str = ""
    # Also answer GET /metrics on the main address, to anyone who can reach it.
    metrics_on_main: bool = False

    @field_validator("addr")
    @classmethod
    def _listener(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        if value and (not host or not port.isdigit() or not 0 < int(port) < 65536):
            raise ValueError("must be HOST:PORT, for example 127.0.0.1:5001")
        return value


class LimitSettings(_Section):
    """What one request or client may take (docs/operations.md#limits)."""

    # The request line and headers together (the server's read buffer, which bodies stream
    # through too); past it 431 (a path past it: 414). As Go's net/http, which Distribution uses.
    max_header_bytes: int = Field(default=1024 * 1024, ge=8 * 1024, le=16 * 1024 * 1024)
    # A client that has not sent its whole request head after this long is disconnected.
    header_timeout_seconds: float = Field(default=30.0, gt=0, le=3600)
    # A body that arrives slower than this, over each window, is cut (408): a slow client may
    # not hold a connection and an upload session open forever. 0: never.
    min_body_bytes_per_second: int = Field(default=1024, ge=0)
    body_rate_window_seconds: float = Field(default=60.0, gt=0, le=3600)
    # Blob upload requests one client address may have in progress at once, per process;
    # docker sends 5 layers at a time. Past it: 429.
    max_uploads_per_client: int = Field(default=32, ge=1, le=10000)


def _cpus() -> int:
    """The CPUs this process may run on (a container's or a cgroup's share included)."""
    return max(1, min(len(os.sched_getaffinity(0)), 64))


class HttpSettings(_Section):
    addr: str = "127.0.0.1:5000"
    # Worker processes: by default one per CPU, as Distribution uses every core.
    workers: int = Field(default_factory=_cpus, ge=1, le=64)
    tls: TlsSettings = TlsSettings()
    # Addresses or networks of reverse proxies whose X-Forwarded-* and Forwarded headers are
    # believed (the client's address, scheme and host); everyone else's are ignored.
    trusted_proxies: list[str] = []
    # After SIGTERM, /readyz answers 503 for this long while everything else is still served,
    # so that load balancers stop sending new requests before the workers stop accepting.
    drain_seconds: float = Field(default=0.0, ge=0, le=3600)
    debug: DebugSettings = DebugSettings()
    limits: LimitSettings = LimitSettings()
    # After SIGTERM (and `drain_seconds`), requests in flight, uploads included, have this long
    # to finish before the workers are stopped.
    shutdown_grace_seconds: int = Field(default=30, ge=0, le=3600)

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            if not _is_network(entry):
                raise ValueError(f"{entry!r} is not an IP address or a CIDR network")
        return value

    @field_validator("addr")
    @classmethod
    def _host_and_port(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError("must be HOST:PORT, for example 127.0.0.1:5000")
        return value

    @property
    def host(self) -> str:
        return self.addr.rpartition(":")[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.addr.rpartition(":")[2])


MIB = 1024 * 1024


class _StoreSettings(_Section):
    """What every object store's section has: a prefix, and a secret the workers need."""

    # Keys inside the bucket or container start with this, so several registries can share one.
    prefix: str = ""

    @field_validator("prefix")
    @classmethod
    def _no_surrounding_slashes(cls, value: str) -> str:
        return value.strip("/")

    @field_validator("endpoint", check_fields=False)
    @classmethod
    def _endpoint_url(cls, value: str | None) -> str | None:
        """Every store's `endpoint` (a URL that was no URL was found at the first request);
        empty: the store's default."""
        return http_url(value) if value else None

    @field_serializer("secret_key", "account_key", "token", when_used="json", check_fields=False)
    def _reveal_for_workers(self, value: SecretStr | None) -> str | None:
        # Worker processes rebuild the settings from JSON; everywhere else it stays masked.
        return None if value is None else value.get_secret_value()


class S3Settings(_StoreSettings):
    # None: AWS itself, found from the region.
    endpoint: str | None = None
    region: str = "us-east-1"
    bucket: str | None = None
    # Both None: the default AWS credential chain (environment, profile, instance role).
    access_key: str | None = None
    secret_key: SecretStr | None = None
    # auto: path-style with a custom endpoint (what most S3-compatible stores need),
    # virtual-hosted on AWS (path-style is deprecated there).
    addressing: Literal["auto", "path", "virtual"] = "auto"
    verify_tls: bool = True
    ca_bundle: Path | None = None
    # Bytes kept in memory per upload in flight; S3 parts are 5 MiB to 5 GiB.
    part_size: int = Field(default=16 * MIB, ge=5 * MIB, le=5 * 1024 * MIB)
    # Blob GETs answer 307 to a presigned URL, so bytes flow from the store, not the registry.
    redirect: bool = True
    # SigV4 presigned URLs live at most 7 days.
    redirect_expiry: int = Field(default=1200, ge=1, le=7 * 24 * 3600)


class _OpendalSettings(_StoreSettings):
    """What the stores reached through opendal (Azure, GCS, Swift) have in common."""

    # Bytes an upload holds in memory before it sends a block or part to the store.
    chunk_size: int = Field(default=16 * MIB, ge=MIB, le=4000 * MIB)


class AzureSettings(_OpendalSettings):
    account_name: str | None = None
    account_key: SecretStr | None = None
    container: str | None = None
    # None: https://<account_name>.blob.core.windows.net
    endpoint: str | None = None


class GcsSettings(_OpendalSettings):
    bucket: str | None = None
    # None: https://storage.googleapis.com
    endpoint: str | None = None
    # A service account's JSON key file; None: the machine's default credentials.
    credential_path: Path | None = None
    # Send requests unsigned: for emulators and public buckets only.
    anonymous: bool = False


class SwiftSettings(_OpendalSettings):
    # The account's storage URL, e.g. https://swift.example/v1/AUTH_project
    endpoint: str | None = None
    container: str | None = None
    # An auth token for the account (X-Auth-Token); Dockyard does not renew it.
    token: SecretStr | None = None


# storage.timeout_seconds' default.
STORE_TIMEOUT_SECONDS = 120.0


class StorageSettings(_Section):
    driver: Literal["filesystem", "memory", "s3", "azure", "gcs", "swift"] = "filesystem"
    # Where the filesystem driver keeps blobs and uploads; default <data_dir>/storage.
    root: Path | None = None
    s3: S3Settings = S3Settings()
    azure: AzureSettings = AzureSettings()
    gcs: GcsSettings = GcsSettings()
    swift: SwiftSettings = SwiftSettings()
    # An object store's request that goes this long without an answer fails (and is tried
    # again, up to three times in all): a store that accepts connections and then says nothing
    # must not hold requests for ever. A server-side copy may take ten times as long.
    timeout_seconds: float = Field(default=STORE_TIMEOUT_SECONDS, gt=0, le=3600)

    @model_validator(mode="after")
    def _store_is_complete(self) -> StorageSettings:
        # PydanticCustomError: the message reads as written, without "Value error, ".
        if self.driver == "s3" and not self.s3.bucket:
            raise PydanticCustomError(
                "s3_bucket", "storage.s3.bucket is required when storage.driver is s3"
            )
        required = {
            "azure": ("account_name", "account_key", "container"),
            "gcs": ("bucket",),
            "swift": ("endpoint", "container", "token"),
        }
        for key in required.get(self.driver, ()):
            if getattr(getattr(self, self.driver), key) is None:
                raise PydanticCustomError(
                    "store_incomplete",
                    "storage.{section}.{key} is required when storage.driver is {section}",
                    {"section": self.driver, "key": key},
                )
        if (self.s3.access_key is None) != (self.s3.secret_key is None):
            raise PydanticCustomError(
                "s3_keys", "storage.s3.access_key and storage.s3.secret_key go together"
            )
        return self

    @property
    def blob_redirect_expiry(self) -> int | None:
        """Seconds a presigned blob URL lives, or None: the registry serves blobs itself."""
        return self.s3.redirect_expiry if self.driver == "s3" and self.s3.redirect else None


class DatabaseSettings(_Section):
    # SQLAlchemy URL; default SQLite at <data_dir>/registry.db. `postgresql://` uses psycopg 3.
    url: str | None = None
    # Connections per process to a networked database, and as many threads that use them.
    pool_size: int = Field(default=10, ge=1, le=100)

    @field_validator("url")
    @classmethod
    def _supported(cls, value: str | None) -> str | None:
        """SQLite or PostgreSQL through the drivers installed: another was a traceback at
        start (`mysql://`: no module named MySQLdb)."""
        if value is None:
            return value
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError("is not a database URL (sqlite:///PATH or postgresql://...)") from None
        if url.drivername not in SUPPORTED_DATABASES:
            raise ValueError(
                f"{url.drivername}:// is not supported: SQLite (sqlite:///PATH) or PostgreSQL "
                "(postgresql://USER:PASSWORD@HOST:PORT/DB)"
            )
        return value


# The URL schemes of the databases Dockyard runs on, with the drivers it installs.
SUPPORTED_DATABASES = ("sqlite", "sqlite+pysqlite", "postgresql", "postgresql+psycopg")


class CacheSettings(_Section):
    # redis://HOST:PORT/DB of a Redis that caches hot metadata for every process; None: no cache.
    redis_url: str | None = None
    # Entries live at most this long: the bound on staleness if an invalidation is lost.
    ttl_seconds: int = Field(default=60, ge=1, le=86400)
    # Registries sharing one Redis (and not one database) need different prefixes.
    key_prefix: str = "dockyard"
    # A Redis slower than this counts as down for the call: the database answers instead.
    timeout_seconds: float = Field(default=0.25, gt=0, le=10)

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        """What redis-py connects to (another URL was a traceback at start); empty: none."""
        if not value:
            return None
        parts = urlsplit(value)
        if parts.scheme == "unix" and parts.path:
            return value
        if parts.scheme not in ("redis", "rediss") or not _callable(value):
            raise ValueError("must be a redis://HOST[:PORT][/DB], rediss://... or unix://PATH URL")
        return value


class LogSettings(_Section):
    level: Literal["debug", "info", "warning", "error"] = "info"
    access: bool = True
    # `text`: one line per record; `json`: one JSON object per line, the access log's fields
    # each a key (docs/operations.md#logs).
    format: Literal["text", "json"] = "text"


class GcSettings(_Section):
    """Online garbage collection (docs/operations.md#garbage-collection)."""

    # Scheduled runs in every process, one at a time across processes and nodes.
    enabled: bool = True
    interval_minutes: float = Field(default=60.0, gt=0)
    # A blob unreferenced (no link, no manifest, no upload publishing it) this long is deleted;
    # so are objects no row names and `.partial` files that old. A day: a push uploads its
    # blobs before its manifest, and a large image over a slow line can take hours.
    grace_minutes: float = Field(default=1440.0, ge=0)
    # Manifests no tag points at: kept, or deleted once `untagged_after_hours` old, unless a
    # kept index lists them or they are a kept referrer's subject.
    untagged: Literal["keep", "delete"] = "keep"
    untagged_after_hours: float = Field(default=168.0, ge=0)
    # Whether a referrer kept only because it is tagged keeps its untagged subject too.
    keep_referred_subjects: bool = True
    # S3's incomplete multipart uploads begun this long ago are aborted.
    incomplete_uploads_after_hours: float = Field(default=24.0, ge=0)
    # How long a run holds its lease (renewed as it goes), and after how long the blobs a
    # dead collector was deleting are finished by another.
    lease_seconds: float = Field(default=300.0, gt=0)


class QuotaSettings(_Section):
    """Each namespace's limits unless a site administrator set its own (docs/operations.md#quotas);
    None: unlimited."""

    max_bytes: int | None = Field(default=None, ge=0)
    max_repositories: int | None = Field(default=None, ge=0)


class RetentionSettings(_Section):
    """Scheduled retention (docs/operations.md#retention): every process looks, one at a time
    across processes and nodes (a lease) applies the policies once per interval."""

    enabled: bool = True
    interval_minutes: float = Field(default=60.0, gt=0)
    lease_seconds: float = Field(default=300.0, gt=0)


class RegistrySettings(_Section):
    max_manifest_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    # The tags /v2/<name>/tags/list answers when the client gives no `n` (then a Link to the
    # rest): Distribution 2.8 answers every tag at once, and clients ask without `n`.
    tag_page_size: int = Field(default=10_000, ge=1, le=10_000)
    # Upload sessions untouched this long are purged, at start-up and then every interval.
    upload_purge_after_hours: float = Field(default=168.0, gt=0)
    upload_purge_interval_minutes: float = Field(default=60.0, gt=0)
    gc: GcSettings = GcSettings()
    quotas: QuotaSettings = QuotaSettings()
    retention: RetentionSettings = RetentionSettings()


def _challenge_text(value: str | None) -> str | None:
    # Realms, services and issuers go into quoted WWW-Authenticate parameters.
    if value is None:
        return None
    if not value or not value.isprintable() or '"' in value or "\\" in value:
        raise ValueError("must be non-empty printable text without quotes or backslashes")
    return value


class HtpasswdSettings(_Section):
    # bcrypt entries (`htpasswd -B`), re-read when changed; in token mode the token server's users.
    path: Path | None = None
    realm: str = "dockyard"

    _realm = field_validator("realm")(_challenge_text)


class TokenSettings(_Section):
    # Where clients get tokens; None: this server's own /token (built from the request's host).
    realm: str | None = None
    # The audience (`aud`) tokens are for, and the `iss` they must carry.
    service: str = "dockyard"
    issuer: str = "dockyard"
    # PEM certificates and public keys whose tokens are trusted, besides this server's own key.
    rootcertbundle: Path | None = None
    # PEM private key (P-256 or RSA) tokens are signed with; None: generated under data_dir/auth.
    signing_key: Path | None = None
    lifetime_seconds: int = Field(default=300, ge=60, le=86400)
    # Refresh tokens (`offline_token=true`, `access_type=offline`): what `docker login` keeps.
    refresh_lifetime_seconds: int = Field(default=30 * 86400, ge=300, le=365 * 86400)

    _texts = field_validator("realm", "service", "issuer")(_challenge_text)

    @field_validator("realm")
    @classmethod
    def _absolute_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL of the token service")
        return value


class ThrottleSettings(_Section):
    # Failed logins at the token service within the window, per account and per client address,
    # after which it answers 429 until the oldest failure leaves the window (per process).
    max_failures: int = Field(default=10, ge=1, le=10000)
    max_failures_per_address: int = Field(default=100, ge=1, le=100000)
    window_seconds: int = Field(default=300, ge=1, le=86400)


class PasswordSettings(_Section):
    """argon2id's cost for the password hashes the index makes (RFC 9106's second recommended
    option by default). Hashes keep the cost they were made with: a change applies to
    passwords set from then on."""

    time_cost: int = Field(default=3, ge=1, le=100)
    memory_kib: int = Field(default=65536, ge=7168, le=4 * 1024 * 1024)
    parallelism: int = Field(default=4, ge=1, le=64)
    # How long a process remembers a password it verified (a keyed digest of it and the stored
    # hash, in memory only), so that the same sign-in again costs no argon2: `docker pull`
    # signs in at the token service for every image. 0: verify every time.
    remember_seconds: int = Field(default=300, ge=0, le=86400)

    @model_validator(mode="after")
    def _at_least_owasps_minimum(self) -> PasswordSettings:
        # OWASP's minimums trade memory for passes: 19 MiB and 2, ..., 7 MiB and 5.
        if self.memory_kib * self.time_cost < 19456 * 2:
            raise PydanticCustomError(
                "password_cost",
                "index.passwords: memory_kib x time_cost must be at least 38912 (OWASP's "
                "minimum for argon2id, e.g. 19456 KiB and 2 passes)",
            )
        return self


class AuthSettings(_Section):
    # index: tokens from this server's /token, backed by the index's accounts (the default of
    # `dockyard serve`: anonymous pull of public repositories, sign-in for everything else).
    mode: Literal["none", "htpasswd", "token", "index"] = "index"
    htpasswd: HtpasswdSettings = HtpasswdSettings()
    token: TokenSettings = TokenSettings()
    throttle: ThrottleSettings = ThrottleSettings()

    @model_validator(mode="after")
    def _htpasswd_needs_a_file(self) -> AuthSettings:
        if self.mode == "htpasswd" and self.htpasswd.path is None:
            raise PydanticCustomError(
                "htpasswd_path", "auth.htpasswd.path is required when auth.mode is htpasswd"
            )
        return self


class IndexEventsSettings(_Section):
    """Events from registries other than this process's own (an index in front of them): they
    POST Distribution's notification envelope to /api/events."""

    # The bearer secret they send (Distribution: `headers: {Authorization: [Bearer ...]}`);
    # unset: /api/events is off.
    secret: SecretStr | None = None
    # That registry's base URL (http://host:port), where the catalogue reads the manifests and
    # image configs the events name (with a pull token it signs itself, when asked for one).
    registry: str | None = None

    @field_validator("registry")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        return None if value is None else http_url(value).rstrip("/")

    @field_serializer("secret", when_used="json")
    def _reveal_for_workers(self, value: SecretStr | None) -> str | None:
        return None if value is None else value.get_secret_value()


class WebhookSettings(_Section):
    """How webhooks are sent (docs/decisions/0017-webhooks.md)."""

    # Hosts (exact names) or networks (CIDR) that hooks may call although they are internal
    # (loopback, private, link-local, metadata): by default such URLs are refused.
    allow: list[str] = []
    timeout: float = Field(default=10.0, gt=0, le=300)  # seconds per attempt
    max_attempts: int = Field(default=8, ge=1, le=100)  # per delivery, then it has failed
    backoff: float = Field(default=10.0, gt=0, le=86400)  # before the 2nd attempt, doubling
    max_backoff: float = Field(default=3600.0, gt=0, le=86400)
    # Deliveries failed in a row (each after max_attempts) that switch a hook off.
    disable_after: int = Field(default=5, ge=1, le=10000)
    # Hooks a repository or an organisation may have (GitHub's limit): each push is a delivery
    # to each, and a user's hooks must not crowd out everyone else's.
    max_per_owner: int = Field(default=20, ge=1, le=10000)
    # Attempts under way at once in a process, at most one of them per hook.
    parallel: int = Field(default=64, ge=1, le=1024)

    @field_validator("allow")
    @classmethod
    def _hosts_or_networks(cls, value: list[str]) -> list[str]:
        return hosts_or_networks(value)


def hosts_or_networks(value: list[str]) -> list[str]:
    """An allow-list of internal targets: host names (exact) and addresses or CIDR networks."""
    for entry in value:
        if not entry or ("/" in entry and not _is_network(entry)):
            raise ValueError(f"{entry!r} is neither a host name nor a CIDR network")
    return value


def _is_network(text: str) -> bool:
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        return False
    return True


class WebSettings(_Section):
    """The web UI at / (dockyard.web, docs/web.md)."""

    enabled: bool = True
    # How long a browser stays signed in: the session ends then, or sooner on sign-out, a
    # password change or a disable.
    session_lifetime_seconds: int = Field(default=14 * 86400, ge=300, le=365 * 86400)


class AccountLimitSettings(_Section):
    """How many of what one account makes it may hold (docs/operations.md#limits); one more is
    refused with 409."""

    # Access tokens and robots of a user, the revoked and expired counted until the tokens
    # issued for them have expired too (auth.token.refresh_lifetime_seconds).
    tokens_per_user: int = Field(default=100, ge=1, le=1_000_000)
    # Organisations a user owns, when they make one more.
    organisations_per_user: int = Field(default=100, ge=1, le=1_000_000)
    teams_per_organisation: int = Field(default=100, ge=1, le=1_000_000)


class IndexSettings(_Section):
    # What a push creates: public, as on Docker Hub (docs/decisions/0010-index-accounts.md).
    default_visibility: Literal["public", "private"] = "public"
    # Whether anyone may create an account with POST /api/users (site admins always may).
    signup_enabled: bool = True
    # Count manifest pulls per repository (pull_count, last_pull_at, the `pulls` sort).
    pull_counts: bool = True
    events: IndexEventsSettings = IndexEventsSettings()
    webhooks: WebhookSettings = WebhookSettings()
    web: WebSettings = WebSettings()
    passwords: PasswordSettings = PasswordSettings()
    limits: AccountLimitSettings = AccountLimitSettings()


_DURATION = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)?")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def _seconds(value: object) -> object:
    """A duration as Distribution writes it (`500ms`, `1s`, `5m`; a bare integer is
    nanoseconds, as in Go), or a number of seconds as a float."""
    if isinstance(value, str):
        match = _DURATION.fullmatch(value.strip())
        if match is None:
            raise ValueError("must be a duration such as 500ms, 5s, 10m or 72h")
        number, unit = match.groups()
        return float(number) * _UNIT_SECONDS[unit or "ns"]
    if isinstance(value, int) and not isinstance(value, bool):
        return value * 1e-9
    return value


# The receivers inside the process (the index's catalogue) are named so: no endpoint may be.
RESERVED_ENDPOINT_PREFIX = "@"


class IgnoreSettings(_Section):
    mediatypes: list[str] = []
    actions: list[Literal["push", "pull", "mount", "delete"]] = []


class EndpointSettings(_Section):
    """One receiver of registry events, in Distribution's shape (plus pull sampling and an age
    limit)."""

    name: str = Field(min_length=1, max_length=255)
    url: str
    disabled: bool = False
    # Static headers; each value is a list, as in Distribution (a single string is accepted).
    headers: dict[str, list[str]] = {}
    timeout: float = Field(default=1.0, gt=0, le=300)  # seconds, or a duration
    # Failures in a row after which delivery waits `backoff` (doubling, at most maxbackoff).
    threshold: int = Field(default=10, ge=1, le=10000)
    backoff: float = Field(default=1.0, gt=0, le=86400)
    maxbackoff: float = Field(default=300.0, gt=0, le=86400)
    ignoredmediatypes: list[str] = []
    ignore: IgnoreSettings = IgnoreSettings()
    # The share of pull events this endpoint gets, 0 to 1 (0: none; `ignore.actions: [pull]`
    # says the same).
    pullsampling: float = Field(default=1.0, ge=0, le=1)
    # Events still undelivered after this long are dropped, with a log line.
    maxage: float = Field(default=72 * 3600.0, gt=0, le=365 * 86400)

    _durations = field_validator("timeout", "backoff", "maxbackoff", "maxage", mode="before")(
        _seconds
    )

    @field_validator("headers", mode="before")
    @classmethod
    def _header_lists(cls, value: object) -> object:
        if isinstance(value, dict):
            return {k: [v] if isinstance(v, str) else v for k, v in value.items()}
        return value

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return http_url(value)

    def wants(self, action: str, media_type: str | None) -> bool:
        """Whether this endpoint receives events of this action and target media type."""
        if self.disabled or action in self.ignore.actions:
            return False
        if action == "pull" and self.pullsampling == 0:
            return False
        ignored = (*self.ignoredmediatypes, *self.ignore.mediatypes)
        return media_type is None or media_type not in ignored


class NotificationSettings(_Section):
    endpoints: list[EndpointSettings] = []
    # Endpoints on loopback, private, link-local or otherwise internal addresses are refused
    # (the registry must not be made to call into its own network) unless this is true.
    allow_private_targets: bool = False

    @field_validator("endpoints")
    @classmethod
    def _unique_names(cls, value: list[EndpointSettings]) -> list[EndpointSettings]:
        names = [endpoint.name for endpoint in value]
        if len(set(names)) != len(names):
            raise ValueError("endpoint names must be unique")
        if any(name.startswith(RESERVED_ENDPOINT_PREFIX) for name in names):
            raise ValueError(
                f"endpoint names starting with {RESERVED_ENDPOINT_PREFIX} are Dockyard's own"
            )
        return value


class RateLimitRule(_Section):
    """One class's limits, in the `limits` library's notation: `100/minute`, `1000 per hour`,
    `10 per 5 seconds`; empty: none."""

    per_address: str = ""
    per_account: str = ""

    @field_validator("per_address", "per_account")
    @classmethod
    def _notation(cls, value: str) -> str:
        if value:
            from limits import parse

            try:
                parse(value)
            except ValueError:
                raise ValueError(f"{value!r} is no rate (write it as 100/minute)") from None
        return value


class RateLimitSettings(_Section):
    """Request rate limits by class (docs/operations.md#rate-limits); none by default."""

    pull: RateLimitRule = RateLimitRule()
    push: RateLimitRule = RateLimitRule()
    token: RateLimitRule = RateLimitRule()
    api: RateLimitRule = RateLimitRule()
    search: RateLimitRule = RateLimitRule()


def registry_url(value: str) -> str:
    """A registry's origin, http://HOST[:PORT] or https://HOST[:PORT], without a slash. Not
    with credentials in it (`user:password@`): they have settings of their own, kept out of
    the log lines that name the registry."""
    scheme, _, rest = value.partition("://")
    host = rest.rstrip("/")
    if "@" in host:
        raise ValueError("must not hold credentials: set username and password instead")
    if scheme not in ("http", "https") or not host or "/" in host or not _callable(value):
        raise ValueError("must be http://HOST[:PORT] or https://HOST[:PORT]")
    if "?" in host or "#" in host:
        raise ValueError("must be http://HOST[:PORT] or https://HOST[:PORT]")
    return f"{scheme}://{host}"


def http_url(value: str) -> str:
    """A URL the server calls: http:// or https://, a host, and a port from 1 to 65535 if any
    (found here, not at the first call)."""
    if not value.startswith(("http://", "https://")) or not _callable(value):
        raise ValueError("must be an http:// or https:// URL with a host (and a port to 65535)")
    return value


def _callable(url: str) -> bool:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # a port past 65535 or not a number, an unclosed [IPv6 address
        return False
    return bool(parts.hostname) and port != 0


def certificate_authorities(value: Path | None) -> Path | None:
    """A PEM file TLS can load certificate authorities from: a wrong one is found at start, not
    at the first call that needs it (mirrors open their clients when the process starts)."""
    if value is not None:
        try:
            ssl.create_default_context(cafile=str(value))
        except (OSError, ssl.SSLError) as exc:
            raise ValueError(f"cannot load certificate authorities from {value}: {exc}") from None
    return value


class MirrorUpstreamSettings(_Section):
    """One registry a mirror rule pulls from (docs/configuration.md#mirrors)."""

    # http://host:port or https://host:port, nothing after the authority.
    url: str
    # Credentials of this Dockyard at the upstream (Basic, or for its token server); none:
    # anonymous.
    username: str | None = None
    password: SecretStr | None = None
    # PEM file of the certificate authority the upstream's certificate is checked against.
    ca_file: Path | None = None

    @field_validator("url")
    @classmethod
    def _registry_url(cls, value: str) -> str:
        return registry_url(value)

    @field_validator("ca_file")
    @classmethod
    def _certificate_authorities(cls, value: Path | None) -> Path | None:
        return certificate_authorities(value)

    @model_validator(mode="after")
    def _credential_pair(self) -> MirrorUpstreamSettings:
        if (self.username is None) != (self.password is None):
            raise PydanticCustomError(
                "mirror_credentials", "a mirror upstream's username and password go together"
            )
        return self

    @field_serializer("password", when_used="json")
    def _reveal_for_workers(self, value: SecretStr | None) -> str | None:
        return None if value is None else value.get_secret_value()


class MirrorSettings(_Section):
    """A pull-through cache of other registries for the names under `prefix`, or (`default`)
    for every name not found here (docs/operations.md#mirrors)."""

    prefix: str = ""
    # What `prefix` becomes at the upstream: `dockerhub/library/nginx` with prefix `dockerhub`
    # and upstream_prefix "" is the upstream's `library/nginx`.
    upstream_prefix: str = ""
    default: bool = False
    # Tried in order; one that failed is skipped for `retry_failed_after_seconds`.
    upstreams: list[MirrorUpstreamSettings] = Field(min_length=1)
    # in_order: the first healthy upstream takes everything; least_busy: the healthy one with
    # the fewest calls and downloads in flight from this process (equals in turn).
    balance: Literal["in_order", "least_busy"] = "in_order"
    # Pushes to the mirror's names are taken (stored here, never sent upstream); else refused.
    push: bool = False
    # auth.mode index: everyone (anonymous too) may pull the names the rule covers, cached or
    # not, and what it caches is catalogued public; false: private, the usual rights decide.
    public: bool = False
    # A cached tag is served without asking the upstream for this long, then checked with HEAD.
    revalidate_seconds: float = Field(default=300.0, ge=0)
    # Connecting, a HEAD, and the wait for each piece of a body: longer is a failed upstream.
    timeout_seconds: float = Field(default=10.0, gt=0, le=3600)
    # A blob arriving slower than this on average (after its first MiB) is given up: a trickle
    # must not hold clients and an upload session for ever. 0: no minimum.
    min_bytes_per_second: int = Field(default=64 * 1024, ge=0)
    retry_failed_after_seconds: float = Field(default=30.0, ge=0)
    # Where an upstream sends the mirror (its token realm, a redirect) may be an internal
    # address (loopback, private, link-local) only when this names it: host names, addresses
    # or networks. The upstreams' own `host:port` are the operator's choice and not checked.
    allow: list[str] = []

    @field_validator("allow")
    @classmethod
    def _hosts_or_networks(cls, value: list[str]) -> list[str]:
        return hosts_or_networks(value)

    @field_validator("prefix", "upstream_prefix")
    @classmethod
    def _name_prefix(cls, value: str) -> str:
        value = value.strip("/")
        if value and not is_valid_name(value):
            raise ValueError("must be repository name components, for example dockerhub")
        return value

    @model_validator(mode="after")
    def _prefix_or_default(self) -> MirrorSettings:
        if self.default == bool(self.prefix):
            raise PydanticCustomError(
                "mirror_rule", "a mirror has a prefix, or is the default (default: true), not both"
            )
        return self


class ReplicationRuleSettings(_Section):
    """Copy repositories to another registry as they are pushed (`push`), or from it on a
    schedule (`pull`) (docs/operations.md#replication)."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,62}$")
    direction: Literal["push", "pull"]
    # The other registry: http://HOST[:PORT] or https://HOST[:PORT].
    registry: str
    # This Dockyard's credentials at the other registry (Basic, or for its token server).
    username: str | None = None
    password: SecretStr | None = None
    ca_file: Path | None = None
    # Shell-style patterns (`*`, `?`, `[...]`) of repository names and of tags; `*` crosses `/`.
    repositories: list[str] = Field(default=["*"], min_length=1)
    tags: list[str] = Field(default=["*"], min_length=1)
    # Of a multi-platform index, only these (os/arch[/variant]); empty: the index whole.
    platforms: list[str] = []
    # The manifests whose subject is a copied one (signatures, SBOMs) follow it.
    referrers: bool = False
    # `pull`: how often the other registry's tags are compared with this one's.
    schedule_minutes: float = Field(default=60.0, gt=0)
    # A failed copy is tried again after backoff_seconds, doubling up to max_backoff_seconds,
    # at most max_attempts times.
    max_attempts: int = Field(default=10, ge=1)
    backoff_seconds: float = Field(default=5.0, gt=0)
    max_backoff_seconds: float = Field(default=600.0, gt=0)
    # The wait for each piece of an answer (and to connect, up to 10 s): longer is a failed
    # attempt.
    timeout_seconds: float = Field(default=60.0, gt=0, le=3600)
    # An attempt may take timeout_seconds, and as much again for each blob done (copied or
    # found there) or name listed or tag compared, plus its bytes at this rate; longer, it is
    # given up and tried again later: a registry that trickles must not hold a copy's place
    # for ever. 0: no minimum.
    min_bytes_per_second: int = Field(default=64 * 1024, ge=0)

    @field_validator("registry")
    @classmethod
    def _registry_url(cls, value: str) -> str:
        return registry_url(value)

    @field_validator("ca_file")
    @classmethod
    def _certificate_authorities(cls, value: Path | None) -> Path | None:
        return certificate_authorities(value)

    @field_validator("platforms")
    @classmethod
    def _platforms(cls, value: list[str]) -> list[str]:
        for text in value:
            parts = text.split("/")
            if len(parts) not in (2, 3) or not all(parts):
                raise ValueError(f"platform {text!r} is not os/arch[/variant]")
        return value

    @model_validator(mode="after")
    def _credential_pair(self) -> ReplicationRuleSettings:
        if (self.username is None) != (self.password is None):
            raise PydanticCustomError(
                "replication_credentials", "a replication rule's username and password go together"
            )
        return self

    @field_serializer("password", when_used="json")
    def _reveal_for_workers(self, value: SecretStr | None) -> str | None:
        return None if value is None else value.get_secret_value()


class ReplicationSettings(_Section):
    """Replication rules, and how the copies reach this Dockyard and the others."""

    rules: list[ReplicationRuleSettings] = []
    # Host names, addresses or networks a rule's registry may be at although internal
    # (loopback, private): the addresses of every other registry are checked before each copy.
    allow: list[str] = []
    # Where the copies reach this Dockyard's /v2 API (default: http://127.0.0.1:<http port>),
    # with these credentials (in index mode, an administrator's; none with auth.mode none).
    local_url: str | None = None
    username: str | None = None
    password: SecretStr | None = None
    # A copy in progress holds its lease this long, renewed as it goes: a process killed
    # mid-copy leaves it to another (or to itself, restarted) after at most this.
    lease_seconds: float = Field(default=60.0, ge=1)
    # Copies made at once by each process.
    parallel: int = Field(default=2, ge=1, le=64)
    # Runs done or failed are listed this long, then forgotten.
    keep_days: float = Field(default=30.0, gt=0)

    @field_validator("allow")
    @classmethod
    def _hosts_or_networks(cls, value: list[str]) -> list[str]:
        return hosts_or_networks(value)

    @field_validator("local_url")
    @classmethod
    def _local_url(cls, value: str | None) -> str | None:
        return None if value is None else http_url(value)

    @field_validator("rules")
    @classmethod
    def _unique_names(cls, value: list[ReplicationRuleSettings]) -> list[ReplicationRuleSettings]:
        names = [rule.name for rule in value]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"more than one replication rule named {', '.join(twice)}")
        return value

    @field_serializer("password", when_used="json")
    def _reveal_for_workers(self, value: SecretStr | None) -> str | None:
        return None if value is None else value.get_secret_value()


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="DOCKYARD_", env_nested_delimiter="__", extra="forbid"
    )

    data_dir: Path = Path("data")
    http: HttpSettings = HttpSettings()
    storage: StorageSettings = StorageSettings()
    database: DatabaseSettings = DatabaseSettings()
    cache: CacheSettings = CacheSettings()
    log: LogSettings = LogSettings()
    registry: RegistrySettings = RegistrySettings()
    auth: AuthSettings = AuthSettings()
    index: IndexSettings = IndexSettings()
    notifications: NotificationSettings = NotificationSettings()
    ratelimits: RateLimitSettings = RateLimitSettings()
    mirrors: list[MirrorSettings] = []
    replication: ReplicationSettings = ReplicationSettings()

    @field_validator("mirrors")
    @classmethod
    def _one_mirror_per_prefix(cls, value: list[MirrorSettings]) -> list[MirrorSettings]:
        keys = ["(default)" if rule.default else rule.prefix for rule in value]
        twice = sorted({key for key in keys if keys.count(key) > 1})
        if twice:
            raise ValueError(f"more than one mirror for {', '.join(twice)}")
        return value

    @property
    def storage_root(self) -> Path:
        return self.storage.root or self.data_dir / "storage"

    @property
    def database_url(self) -> str:
        if self.database.url:
            return self.database.url
        # Quoted: a data directory named with `?`, `#` or `%` put the database elsewhere (at
        # the name's part before `?`) or named a file that is not there.
        path = str((self.data_dir / "registry.db").resolve())
        return URL.create("sqlite", database=path).render_as_string()

    def require_registry(self) -> None:
        """ConfigError when the metadata is a SQLite file that does not exist: a command that
        reads or tends a registry must not start an empty one where a mistyped --data points."""
        url = make_url(self.database_url)
        path = url.database
        if url.get_backend_name() != "sqlite" or not path or path == ":memory:":
            return
        if not Path(path).exists():
            raise ConfigError(
                f"no registry at {self.data_dir}: its metadata database {path} does not exist "
                "(start it once with `dockyard serve`, or give its --data or --config)"
            )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        legacy = InitSettingsSource(settings_cls, _legacy_environment())
        from_file = InitSettingsSource(settings_cls, _read_file(_config_file.get()))
        return (init_settings, env_settings, legacy, from_file)


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build the settings; `overrides` are the command-line flags as nested dicts."""
    if config_file is None and os.environ.get("DOCKER_REGISTRY_CONFIG"):
        config_file = Path(os.environ["DOCKER_REGISTRY_CONFIG"])
    token = _config_file.set(config_file)
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None
    finally:
        _config_file.reset(token)


def _read_file(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        document = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read configuration file {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"configuration file {path} is not valid YAML: {exc}") from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise ConfigError(f"configuration file {path} must hold a mapping of keys")
    return document


def _legacy_environment() -> dict[str, Any]:
    legacy: dict[str, Any] = {}
    storage_path = os.environ.get("STORAGE_PATH")
    if storage_path:
        legacy["storage"] = {"root": storage_path}
    # The original docker-registry's index database.
    index_database = os.environ.get("SQLALCHEMY_INDEX_DATABASE")
    if index_database:
        legacy["database"] = {"url": index_database}
    return legacy


def _describe(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"]) or "(top level)"
        # A validator's own message, without pydantic's "Value error, " before it.
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown key"
        problems.append(f"{key}: {message}")
    return "invalid configuration: " + "; ".join(problems)
