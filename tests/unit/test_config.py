from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine

from dockyard.config import ConfigError, load_settings
from tests.support.certificates import CertificateAuthority


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for variable in list(os.environ):
        if variable.startswith("DOCKYARD_") or variable in (
            "STORAGE_PATH",
            "DOCKER_REGISTRY_CONFIG",
        ):
            monkeypatch.delenv(variable)


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_defaults_serve_on_loopback_with_data_in_data() -> None:
    settings = load_settings()
    assert settings.http.addr == "127.0.0.1:5000"
    assert settings.storage_root == Path("data/storage")
    assert settings.database_url.endswith("/data/registry.db")


@pytest.mark.parametrize("name", ["what?now", "hash#tag", "per%20cent", "at@colon:"])
def test_the_database_is_in_the_data_directory_whatever_its_name(tmp_path: Path, name: str) -> None:
    # `--data 'what?now'` put the database at `what` beside it; `per%20cent` at `per cent`.
    data = tmp_path / name
    data.mkdir()
    engine = create_engine(load_settings(data_dir=data).database_url)
    with engine.connect() as connection:
        connection.exec_driver_sql("CREATE TABLE made_here (x INTEGER)")
    engine.dispose()
    made = {str(path.relative_to(tmp_path)) for path in tmp_path.rglob("*")}
    assert made == {name, f"{name}/registry.db"}


def test_file_overrides_defaults_environment_overrides_file_flags_override_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write(
        tmp_path / "c.yaml", "http: {addr: '127.0.0.1:6000', workers: 3}\nlog: {level: debug}\n"
    )
    assert load_settings(config).http.workers == 3
    monkeypatch.setenv("DOCKYARD_HTTP__WORKERS", "2")
    settings = load_settings(config)
    assert (settings.http.workers, settings.http.addr, settings.log.level) == (
        2,
        "127.0.0.1:6000",
        "debug",
    )
    flagged = load_settings(config, http={"addr": "127.0.0.1:7000"})
    assert (flagged.http.addr, flagged.http.workers) == ("127.0.0.1:7000", 2)


def test_legacy_variables_name_the_file_and_the_storage_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write(tmp_path / "c.yaml", "log: {access: false}\n")
    monkeypatch.setenv("DOCKER_REGISTRY_CONFIG", str(config))
    monkeypatch.setenv("STORAGE_PATH", str(tmp_path / "blobs"))
    settings = load_settings()
    assert settings.log.access is False
    assert settings.storage_root == tmp_path / "blobs"
    monkeypatch.setenv("DOCKYARD_STORAGE__ROOT", str(tmp_path / "preferred"))
    assert load_settings().storage_root == tmp_path / "preferred"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("storage: {driver: floppy}", "storage.driver"),
        ("http: {addr: nowhere}", "http.addr"),
        ("http: {workers: 0}", "http.workers"),
        ("htp: {addr: '1:2'}", "htp"),
        ("registry: {max_manifest_bytes: lots}", "registry.max_manifest_bytes"),
        (
            "mirrors: [{default: true, upstreams: [{url: 'https://up.example'}],"
            " allow: ['10.0.0.0/99']}]",
            r"mirrors\.0\.allow",
        ),
        ("index: {webhooks: {allow: ['']}}", r"index\.webhooks\.allow"),
        (
            "notifications: {endpoints: [{name: a, url: 'http://127.0.0.1:99999/events'}]}",
            r"notifications\.endpoints\.0\.url",
        ),
        (
            "mirrors: [{default: true, upstreams: [{url: 'http://[::1'}]}]",
            r"mirrors\.0\.upstreams\.0\.url",
        ),
        ("index: {events: {registry: 'http://registry:0'}}", r"index\.events\.registry"),
        (
            "mirrors: [{default: true, upstreams: [{url: 'https://me:secret@up.example'}]}]",
            r"mirrors\.0\.upstreams\.0\.url: must not hold credentials",
        ),
        (
            "replication: {rules: [{name: r, direction: pull, registry: 'http://me:secret@up.example'}]}",
            r"replication\.rules\.0\.registry: must not hold credentials",
        ),
        (
            "replication: {rules: [{name: r, direction: pull, registry: 'http://up.example?x=1'}]}",
            r"replication\.rules\.0\.registry: must be",
        ),
        ("replication: {local_url: 'https://'}", r"replication\.local_url"),
        ("replication: {allow: ['10.0.0.0/33']}", r"replication\.allow"),
        ("database: {url: 'mysql://u@127.0.0.1/x'}", r"database\.url: mysql:// is not supported"),
        ("database: {url: 'postgresql+psycopg2://h/x'}", r"database\.url"),
        ("database: {url: '::'}", r"database\.url: is not a database URL"),
        ("cache: {redis_url: 'http://127.0.0.1:6379/'}", r"cache\.redis_url: must be"),
        ("cache: {redis_url: 'redis://127.0.0.1:99999/0'}", r"cache\.redis_url"),
        ("storage: {s3: {endpoint: '::'}}", r"storage\.s3\.endpoint"),
        ("storage: {azure: {endpoint: 'blob.example'}}", r"storage\.azure\.endpoint"),
    ],
)
def test_invalid_configuration_names_the_key(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(ConfigError, match=rf"^invalid configuration: {key}"):
        load_settings(write(tmp_path / "c.yaml", text))


@pytest.mark.parametrize(
    "section",
    [
        "mirrors: [{default: true, upstreams: [{url: 'https://up.example', ca_file: CA}]}]",
        "replication: {rules: [{name: r, direction: pull, registry: 'https://up.example',"
        " ca_file: CA}]}",
    ],
)
def test_certificate_authorities_that_cannot_be_loaded_are_refused_at_start(
    tmp_path: Path, section: str
) -> None:
    """Mirrors open their clients when the process starts: a CA file that TLS cannot load must
    be a configuration error, not a traceback that stops the workers."""
    key = r"(mirrors\.0\.upstreams\.0|replication\.rules\.0)\.ca_file"
    missing = write(tmp_path / "missing.yaml", section.replace("CA", str(tmp_path / "no.pem")))
    with pytest.raises(ConfigError, match=rf"^invalid configuration: {key}: .*No such file"):
        load_settings(missing)
    ca = CertificateAuthority(tmp_path / "ca")
    good = write(tmp_path / "good.yaml", section.replace("CA", str(ca.path)))
    assert load_settings(good)
    not_pem = write(tmp_path / "junk.pem", "not a certificate\n")
    junk = write(tmp_path / "junk.yaml", section.replace("CA", str(not_pem)))
    with pytest.raises(ConfigError, match=rf"^invalid configuration: {key}: .*certificate"):
        load_settings(junk)


def test_invalid_environment_value_names_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKYARD_HTTP__WORKERS", "many")
    with pytest.raises(ConfigError, match=r"http\.workers"):
        load_settings()


def test_unreadable_or_malformed_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read configuration file"):
        load_settings(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(write(tmp_path / "bad.yaml", "a: [1,"))
    with pytest.raises(ConfigError, match="mapping"):
        load_settings(write(tmp_path / "list.yaml", "- 1\n- 2\n"))


def test_s3_storage_is_configured_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKYARD_STORAGE__DRIVER", "s3")
    monkeypatch.setenv("DOCKYARD_STORAGE__S3__BUCKET", "registry")
    monkeypatch.setenv("DOCKYARD_STORAGE__S3__ENDPOINT", "http://127.0.0.1:8333")
    monkeypatch.setenv("DOCKYARD_STORAGE__S3__REDIRECT", "false")
    s3 = load_settings().storage.s3
    assert (s3.bucket, s3.endpoint, s3.region, s3.redirect) == (
        "registry",
        "http://127.0.0.1:8333",
        "us-east-1",
        False,
    )
    assert s3.part_size == 16 * 1024 * 1024


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("storage: {driver: s3}", "storage.s3.bucket"),
        ("storage: {driver: s3, s3: {bucket: b, access_key: k}}", "storage.s3.secret_key"),
        ("storage: {s3: {part_size: 1048576}}", "storage.s3.part_size"),
        ("storage: {s3: {addressing: sideways}}", "storage.s3.addressing"),
        ("storage: {s3: {redirect_expiry: 0}}", "storage.s3.redirect_expiry"),
    ],
)
def test_invalid_s3_configuration_names_the_key(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_settings(write(tmp_path / "c.yaml", text))


def test_s3_secret_is_masked_but_reaches_worker_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKYARD_STORAGE__DRIVER", "s3")
    monkeypatch.setenv("DOCKYARD_STORAGE__S3__BUCKET", "registry")
    monkeypatch.setenv("DOCKYARD_STORAGE__S3__ACCESS_KEY", "AKIDEXAMPLE")
    monkeypatch.setenv("DOCKYARD_STORAGE__S3__SECRET_KEY", "very-secret")
    settings = load_settings()
    assert "very-secret" not in repr(settings)
    assert "very-secret" not in str(settings.model_dump())
    # Workers rebuild the settings from JSON in their environment.
    rebuilt = type(settings).model_validate_json(settings.model_dump_json())
    secret = rebuilt.storage.s3.secret_key
    assert secret is not None and secret.get_secret_value() == "very-secret"


def test_blobs_redirect_to_the_store_only_with_s3_and_redirect_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert load_settings().storage.blob_redirect_expiry is None
    monkeypatch.setenv("DOCKYARD_STORAGE__DRIVER", "s3")
    monkeypatch.setenv("DOCKYARD_STORAGE__S3__BUCKET", "registry")
    assert load_settings().storage.blob_redirect_expiry == 1200
    monkeypatch.setenv("DOCKYARD_STORAGE__S3__REDIRECT", "false")
    assert load_settings().storage.blob_redirect_expiry is None
