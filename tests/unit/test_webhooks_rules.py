"""The webhooks' pure rules: which URLs a hook may call, the payload's shape, the signature."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import json
from datetime import UTC, datetime

import pytest

from dockyard.config import WebhookSettings
from dockyard.index.webhooks.addresses import Allowed, resolve, well_formed
from dockyard.index.webhooks.payload import DELETE, PUSH, Happened, RepositoryFacts, render
from dockyard.index.webhooks.signing import new_secret, signature, verify
from dockyard.kit.outbound import TargetRefused

MOMENT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
FACTS = RepositoryFacts("alice/app", False, "short", "# long", 3, 1, MOMENT)


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body_under_the_secret() -> None:
    body = b'{"a":1}'
    expected = hmac.new(b"s3cret", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert signature("s3cret", 1700000000, body) == f"sha256={expected}"
    assert verify("s3cret", 1700000000, body, f"sha256={expected}")
    assert not verify("s3cret", 1700000001, body, f"sha256={expected}")  # replayed later
    assert not verify("s3cret", 1700000000, body, f"sha256={expected[:-1]}é")  # not ASCII
    assert not verify("s3cret", 1700000000, body, "\ud800")  # a lone surrogate
    assert new_secret() != new_secret()


def test_a_push_payload_has_docker_hubs_fields() -> None:
    happened = Happened(PUSH, "e1", MOMENT, "alice", "v1", "sha256:ab", "https://hub.example")
    payload = json.loads(render(happened, FACTS, "https://hub.example/api/hook"))
    assert payload["callback_url"] == "https://hub.example/api/hook"
    assert payload["push_data"] == {
        "pushed_at": int(MOMENT.timestamp()),
        "pusher": "alice",
        "tag": "v1",
        "images": ["sha256:ab"],
    }
    repository = payload["repository"]
    assert repository["repo_name"] == "alice/app"
    assert (repository["namespace"], repository["name"], repository["owner"]) == (
        "alice",
        "app",
        "alice",
    )
    assert repository["status"] == "Active" and repository["star_count"] == 3
    assert repository["comment_count"] == 1 and repository["full_description"] == "# long"
    assert repository["date_created"] == int(MOMENT.timestamp())
    assert repository["repo_url"] == "https://hub.example/api/repositories/alice/app"


def test_an_official_image_and_a_delete() -> None:
    facts = RepositoryFacts("ubuntu", True, "", "", 0, 0, MOMENT)
    happened = Happened(DELETE, "e2", MOMENT, None, None, "sha256:cd", "")
    payload = json.loads(render(happened, facts, "/api/hook"))
    assert "push_data" not in payload
    assert payload["delete_data"]["digest"] == "sha256:cd"
    assert payload["repository"]["repo_name"] == "library/ubuntu"
    assert payload["repository"]["is_official"] and payload["repository"]["is_private"]


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/",
        "http://user:pw@example.com/",
        "http:///path",
        "http://example.com:99999/",
        "http://exa mple.com/",
        "https://example.com/" + "x" * 3000,
    ],
)
def test_urls_refused_before_any_resolution(url: str) -> None:
    assert well_formed(url) is not None


def test_the_allow_list_opens_hosts_and_networks() -> None:
    allowed = Allowed.of(["127.0.0.1", "10.1.0.0/16", "Receiver.Internal."])
    loopback = ipaddress.ip_address("127.0.0.1")
    assert allowed.opens("anything", loopback)
    assert allowed.opens("x", ipaddress.ip_address("10.1.2.3"))
    assert not allowed.opens("x", ipaddress.ip_address("10.2.0.1"))
    assert allowed.opens("receiver.internal", ipaddress.ip_address("192.168.0.9"))
    with pytest.raises(ValueError):
        WebhookSettings(allow=["10.0.0.0/99"])


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "http://[::1]/",
        "http://localhost/",
        "http://[fd00::1]/",
        "http://100.64.0.1/",
    ],
)
def test_internal_addresses_are_refused_unless_allowed(url: str) -> None:
    with pytest.raises(TargetRefused):
        asyncio.run(resolve(url, Allowed.of([])))


def test_the_checked_address_is_called_with_the_name_as_host() -> None:
    target = asyncio.run(resolve("http://localhost:8080/hook?x=1", Allowed.of(["localhost"])))
    assert target.url in ("http://127.0.0.1:8080/hook?x=1", "http://[::1]:8080/hook?x=1")
    assert target.host_header == "localhost:8080"
