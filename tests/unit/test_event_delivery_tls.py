"""Events to an HTTPS endpoint: delivery connects to the address it checked, and verifies the
certificate for the URL's name, which it sends in the TLS handshake (SNI) and the Host header."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from dockyard.config import EndpointSettings, NotificationSettings
from dockyard.db.engine import Database
from dockyard.db.migrate import upgrade
from dockyard.registry.events.delivery import Deliverer, DeliveryFailed
from dockyard.registry.events.recorder import EventLog
from tests.support.certificates import CertificateAuthority
from tests.support.receiver import Receiver, event_receiver
from tests.support.tls import client_context
from tests.unit.test_pull_event_json import SOURCE

BODY = '{"id":"0b0f4b8e-2c5e-4f4e-9a53-5d3c0c6d1a7e","action":"push"}'


def send(receiver: Receiver, database_path: Path) -> None:
    """One envelope of one event to the receiver, as an endpoint's delivery sends it."""

    async def post() -> None:
        database = Database(f"sqlite:///{database_path}")
        upgrade(database.engine)
        endpoint = EndpointSettings(name="listener", url=receiver.url, timeout="10s")
        settings = NotificationSettings(endpoints=[endpoint], allow_private_targets=True)
        deliverer = Deliverer(settings, database, EventLog([endpoint], SOURCE, database))
        try:
            await deliverer._send(endpoint, [BODY])
        finally:
            await deliverer.close()

    asyncio.run(post())


@pytest.fixture
def authority(tmp_path: Path) -> CertificateAuthority:
    return CertificateAuthority(tmp_path / "ca")


def test_the_certificate_is_verified_for_the_urls_name_at_the_checked_address(
    authority: CertificateAuthority, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Made for the name only: verified against the address connected to, it would fail.
    served = authority.server("receiver", hosts=("localhost",))
    trusting = client_context(authority)
    monkeypatch.setattr(httpx, "create_ssl_context", lambda **_: trusting)
    with event_receiver(tls=served) as receiver:
        send(receiver, tmp_path / "events.db")
        [accepted] = receiver.accepted
    assert receiver.server_names == ["localhost"]
    port = receiver.url.split(":")[2].split("/")[0]
    assert accepted.headers["Host"] == f"localhost:{port}"
    assert accepted.envelope == {"events": [{"id": BODY[7:43], "action": "push"}]}


def test_a_certificate_from_an_authority_nobody_trusts_fails_the_delivery(
    authority: CertificateAuthority, tmp_path: Path
) -> None:
    served = authority.server("receiver", hosts=("localhost",))
    with event_receiver(tls=served) as receiver, pytest.raises(DeliveryFailed) as failed:
        send(receiver, tmp_path / "events.db")
    assert "certificate verify failed" in str(failed.value)
    assert receiver.accepted == []
