"""The notifications section: Distribution's keys and durations, one-line errors, and which
events an endpoint takes."""

from __future__ import annotations

import asyncio
import ipaddress
from pathlib import Path

import pytest

from dockyard.config import ConfigError, Settings, load_settings
from dockyard.kit.outbound import TargetRefused, is_internal, resolve_target

DISTRIBUTION_EXAMPLE = """
notifications:
  endpoints:
    - name: alistener
      disabled: false
      url: https://my.listener.com/event
      headers:
        Authorization: [Bearer token]
      timeout: 500ms
      threshold: 5
      backoff: 1s
      ignoredmediatypes:
        - application/octet-stream
      ignore:
        mediatypes: [application/vnd.oci.image.index.v1+json]
        actions: [pull]
"""


def test_distributions_endpoint_configuration_is_read_as_written(tmp_path: Path) -> None:
    path = tmp_path / "config.yml"
    path.write_text(DISTRIBUTION_EXAMPLE)
    endpoint = load_settings(path).notifications.endpoints[0]
    assert (endpoint.name, endpoint.url, endpoint.disabled) == (
        "alistener",
        "https://my.listener.com/event",
        False,
    )
    assert endpoint.headers == {"Authorization": ["Bearer token"]}
    assert (endpoint.timeout, endpoint.threshold, endpoint.backoff) == (0.5, 5, 1.0)
    assert not endpoint.wants("pull", "application/vnd.oci.image.manifest.v1+json")
    assert not endpoint.wants("push", "application/octet-stream")
    assert not endpoint.wants("push", "application/vnd.oci.image.index.v1+json")
    assert endpoint.wants("push", "application/vnd.oci.image.manifest.v1+json")
    assert endpoint.wants("delete", None)


def test_durations_take_go_units_and_bare_integers_are_nanoseconds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    endpoints = (
        '[{"name": "a", "url": "http://a/", "timeout": "2m", "backoff": 1500000000,'
        ' "maxage": "1.5h"}]'
    )
    monkeypatch.setenv("DOCKYARD_NOTIFICATIONS__ENDPOINTS", endpoints)
    settings = load_settings()
    endpoint = settings.notifications.endpoints[0]
    assert (endpoint.timeout, endpoint.backoff, endpoint.maxage) == (120.0, 1.5, 5400.0)
    # Workers rebuild the settings from JSON: the same values come back.
    assert Settings.model_validate_json(settings.model_dump_json()) == settings


@pytest.mark.parametrize(
    ("endpoints", "message"),
    [
        ('[{"name": "a", "url": "ftp://a/"}]', "notifications.endpoints.0.url: "),
        ('[{"name": "a", "url": "http://a/", "timeout": "soon"}]', "timeout: .*duration"),
        ('[{"name": "a", "url": "http://a/", "pullsampling": 2}]', "pullsampling: "),
        ('[{"name": "a", "url": "http://a/", "ignore": {"actions": ["x"]}}]', "actions.0: "),
        ('[{"name": "a", "url": "http://a/"}, {"name": "a", "url": "http://b/"}]', "unique"),
        ('[{"name": "a", "url": "http://a/", "treshold": 3}]', "treshold: unknown key"),
    ],
)
def test_a_bad_endpoint_is_one_line_that_names_its_key(
    monkeypatch: pytest.MonkeyPatch, endpoints: str, message: str
) -> None:
    monkeypatch.setenv("DOCKYARD_NOTIFICATIONS__ENDPOINTS", endpoints)
    with pytest.raises(ConfigError, match=message) as raised:
        load_settings()
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "0.0.0.0",
     "::1", "fd00::1", "fe80::1", "::ffff:127.0.0.1", "100.64.0.1", "224.0.0.1"],
)  # fmt: skip
def test_internal_addresses_are_recognised(address: str) -> None:
    assert is_internal(ipaddress.ip_address(address))


def test_an_internal_target_is_refused_unless_allowed() -> None:
    with pytest.raises(TargetRefused, match=r"internal address 169\.254\.169\.254"):
        asyncio.run(resolve_target("http://169.254.169.254/latest/meta-data", False))
    with pytest.raises(TargetRefused, match="internal address ::1"):
        asyncio.run(resolve_target("http://[::1]:8080/x", False))
    allowed = asyncio.run(resolve_target("http://127.0.0.1:9/events?a=1", True))
    assert (allowed.url, allowed.host_header) == ("http://127.0.0.1:9/events?a=1", "127.0.0.1:9")


def test_a_public_target_is_called_at_the_address_that_was_checked() -> None:
    target = asyncio.run(resolve_target("https://93.184.215.14/hook", False))
    assert target.url == "https://93.184.215.14/hook"
    assert target.sni_hostname == "93.184.215.14"
