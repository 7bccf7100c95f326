"""Settings: defaults < YAML file < environment < command-line flags, validated at start-up.

Every key can be set from the environment as `DOCKYARD_<SECTION>__<KEY>` (for example
`DOCKYARD_STORAGE__ROOT`). The original registry's `DOCKER_REGISTRY_CONFIG` (the file) and
`STORAGE_PATH` (the storage root) are honoured too.
"""

from __future__ import annotations

import os
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

_config_file: ContextVar[Path | None] = ContextVar("dockyard_config_file", default=None)


class ConfigError(Exception):
    """The configuration cannot be used; the message names the key."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class HttpSettings(_Section):
    addr: str = "127.0.0.1:5000"
    workers: int = Field(default=1, ge=1, le=64)

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


class StorageSettings(_Section):
    driver: Literal["filesystem", "memory"] = "filesystem"
    # Where the filesystem driver keeps blobs and uploads; default <data_dir>/storage.
    root: Path | None = None


class DatabaseSettings(_Section):
    # SQLAlchemy URL; default SQLite at <data_dir>/registry.db.
    url: str | None = None


class LogSettings(_Section):
    level: Literal["debug", "info", "warning", "error"] = "info"
    access: bool = True


class RegistrySettings(_Section):
    max_manifest_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    # Upload sessions untouched this long are purged, at start-up and then every interval.
    upload_purge_after_hours: float = Field(default=168.0, gt=0)
    upload_purge_interval_minutes: float = Field(default=60.0, gt=0)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="DOCKYARD_", env_nested_delimiter="__", extra="forbid"
    )

    data_dir: Path = Path("data")
    http: HttpSettings = HttpSettings()
    storage: StorageSettings = StorageSettings()
    database: DatabaseSettings = DatabaseSettings()
    log: LogSettings = LogSettings()
    registry: RegistrySettings = RegistrySettings()

    @property
    def storage_root(self) -> Path:
        return self.storage.root or self.data_dir / "storage"

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{(self.data_dir / 'registry.db').resolve()}"

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
    storage_path = os.environ.get("STORAGE_PATH")
    return {"storage": {"root": storage_path}} if storage_path else {}


def _describe(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"]) or "(top level)"
        message = "unknown key" if error["type"] == "extra_forbidden" else error["msg"]
        problems.append(f"{key}: {message}")
    return "invalid configuration: " + "; ".join(problems)
