"""A dependency that goes away under load, and comes back: the database (PostgreSQL stopped
and started again), the object store (S3 made unreachable and reachable again) and a disk that
fills up. While it is away, requests that need it answer 503 with `Retry-After` and the
registry's error body, never a 500 and never a traceback in the log, which says so once per
interval; when it returns, service resumes by itself, and nothing that was acknowledged is
lost."""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests.support.azurite import Azurite
from tests.support.images import Image, make_image, push_blob, sha256
from tests.support.index import ADMIN_PASSWORD, index_server
from tests.support.postgres import missing_postgres, stoppable_postgres
from tests.support.seaweedfs import READER_KEY, READER_SECRET, S3Bucket
from tests.support.servers import DockyardServer, dockyard_server
from tests.support.stores import environment
from tests.support.swift import Swift
from tests.support.tcp_proxy import TcpProxy, tcp_proxy
from tests.support.web import csrf_token

REPOSITORY = "outage/app"
_seeds = itertools.count()


@dataclass
class Load:
    """Pushes new images and pulls acknowledged ones, one after another, until stopped."""

    url: str
    acknowledged: list[Image] = field(default_factory=list)
    refusals: list[httpx.Response] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=60) as client:
            while not self.stopping.is_set():
                image = make_image(f"outage-{next(_seeds)}", layers=1)
                if self._push(client, image):
                    self.acknowledged.append(image)
                if self.acknowledged:
                    pulled = self.acknowledged[len(self.acknowledged) // 2]
                    self._answer(client.get(f"/v2/{REPOSITORY}/blobs/{sha256(pulled.config)}"))
                    self._answer(client.get(f"/v2/{REPOSITORY}/manifests/{pulled.digest}"))

    def _push(self, client: httpx.Client, image: Image) -> bool:
        for blob in (image.config, *image.layers):
            url = f"/v2/{REPOSITORY}/blobs/uploads/"
            if not self._answer(client.post(url, params={"digest": sha256(blob)}, content=blob)):
                return False
        headers = {"Content-Type": image.media_type}
        url = f"/v2/{REPOSITORY}/manifests/{image.digest}"
        return self._answer(client.put(url, content=image.manifest, headers=headers))

    def _answer(self, response: httpx.Response) -> bool:
        self.statuses.append(response.status_code)
        if response.status_code >= 400:
            self.refusals.append(response)
            return False
        return True


def _outage(server: DockyardServer, stop: Callable[[], None], start: Callable[[], None]) -> Load:
    """Run the load, take the dependency away until 503s were answered, bring it back, and
    wait until a push succeeds again."""
    load = Load(server.url)
    runner = threading.Thread(target=load.run, daemon=True)
    runner.start()
    try:
        _until(lambda: len(load.acknowledged) >= 3, "the load never pushed")
        stop()
        _until(lambda: load.statuses.count(503) >= 2, "no 503 while the dependency was away")
        time.sleep(1)
        start()
        before = len(load.acknowledged)
        _until(lambda: len(load.acknowledged) > before + 2, "service never resumed")
    finally:
        load.stopping.set()
        runner.join(60)
    return load


def _until(condition: Callable[[], bool], failure: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(failure)
        time.sleep(0.05)


def _check(load: Load, server: DockyardServer, dependency: str) -> None:
    assert not [s for s in load.statuses if s >= 500 and s != 503], load.statuses
    assert load.refusals, "nothing was refused"
    for response in load.refusals:
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"].isdigit()
        (error,) = response.json()["errors"]
        assert error["code"] == "UNAVAILABLE" and dependency in error["message"]
    # (S3 answers a blob GET with a redirect to the store.)
    with httpx.Client(base_url=server.url, timeout=60, follow_redirects=True) as client:
        for image in load.acknowledged:
            manifest = client.get(f"/v2/{REPOSITORY}/manifests/{image.digest}")
            assert manifest.status_code == 200 and manifest.content == image.manifest
            for blob in (image.config, *image.layers):
                assert client.get(f"/v2/{REPOSITORY}/blobs/{sha256(blob)}").content == blob
    # Once per interval (per worker), not once per refused request or background round.
    reports = server.log.read_text().count(f"the {dependency} is unavailable")
    assert 1 <= reports <= 2, server.log.read_text()


@pytest.mark.parametrize("store", ["s3", "swift"])
def test_an_object_store_that_refuses_the_credentials_is_503_said_once(
    tmp_path: Path, store: str, request: pytest.FixtureRequest
) -> None:
    """Keys rotated under a running server, a Swift token expired (Dockyard does not renew
    it), credentials without the right to write: each push was a 500 with a traceback. A store
    that refuses Dockyard is away, as a disk that refuses it is. (Credentials that may only
    read pass the start-up lookup, as rotated ones once did.)"""
    if store == "s3":
        bucket: S3Bucket = request.getfixturevalue("s3_bucket")
        env = bucket.environment("refused", access_key=READER_KEY, secret_key=READER_SECRET)
        secret, refusal = READER_SECRET, "AccessDenied"
    else:
        swift: Swift = request.getfixturevalue("swift")
        reader = dataclasses.replace(swift, token=swift.reader_token)
        env = environment(reader.storage(f"refused-{next(_seeds)}", 1 << 20))
        secret, refusal = swift.reader_token, "PermissionDenied"
    with dockyard_server(tmp_path / "data", env=env) as server:
        for _ in range(3):
            data = os.urandom(64)
            answer = httpx.post(
                f"{server.url}/v2/{REPOSITORY}/blobs/uploads/",
                params={"digest": sha256(data)},
                content=data,
                timeout=60,
            )
            assert answer.status_code == 503, answer.text
            assert answer.headers["retry-after"].isdigit()
            (error,) = answer.json()["errors"]
            assert error["code"] == "UNAVAILABLE" and "storage" in error["message"]
        said = server.log.read_text()
        assert 1 <= said.count("the storage is unavailable") <= 2, said  # once per worker
        assert refusal in said and secret not in said


@pytest.fixture
def stoppable_database() -> Iterator[tuple[Callable[[], None], Callable[[], None], str]]:
    reason = missing_postgres()
    if reason is not None:
        pytest.skip(reason)
    with stoppable_postgres() as postgres, postgres.database() as url:
        yield postgres.stop, postgres.start, url


def test_postgresql_stopped_under_load_is_503_until_it_is_back_and_nothing_is_lost(
    tmp_path: Path,
    stoppable_database: tuple[Callable[[], None], Callable[[], None], str],
) -> None:
    stop, start, url = stoppable_database
    with dockyard_server(tmp_path / "data", env={"DOCKYARD_DATABASE__URL": url}) as server:
        load = _outage(server, stop, start)
        _check(load, server, "database")


def test_postgresql_taking_no_writes_is_503_for_writes_until_it_takes_them_again(
    tmp_path: Path,
    stoppable_database: tuple[Callable[[], None], Callable[[], None], str],
) -> None:
    # What a registry sees of a failover: the server it is connected to became a standby
    # (here: set read-only), and writes fail until it is a primary again. They were 500s.
    _stop, _start, url = stoppable_database
    libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)

    def read_only(setting: str) -> Callable[[], None]:
        def change() -> None:
            with psycopg.connect(libpq, autocommit=True) as connection:
                connection.execute(f"ALTER SYSTEM {setting}".encode())
                connection.execute(b"SELECT pg_reload_conf()")

        return change

    with dockyard_server(tmp_path / "data", env={"DOCKYARD_DATABASE__URL": url}) as server:
        load = _outage(
            server,
            read_only("SET default_transaction_read_only = on"),
            read_only("RESET default_transaction_read_only"),
        )
        _check(load, server, "database")


def test_an_unreachable_object_store_is_503_until_it_is_back_and_nothing_is_lost(
    tmp_path: Path, s3_bucket: S3Bucket
) -> None:
    store = s3_bucket.server.endpoint.removeprefix("http://")
    with tcp_proxy(store) as proxy:
        env = s3_bucket.environment(f"outage-{time.monotonic_ns()}/", endpoint=proxy.url)
        with dockyard_server(tmp_path / "data", env=env) as server:
            load = _outage(server, proxy.cut, proxy.restore)
            _check(load, server, "storage")


def test_web_pages_while_the_database_is_away_are_html_pages_that_say_so(
    tmp_path: Path,
    stoppable_database: tuple[Callable[[], None], Callable[[], None], str],
) -> None:
    stop, start, url = stoppable_database
    env = {"DOCKYARD_DATABASE__URL": url}
    with (
        index_server(tmp_path / "data", env) as index,
        httpx.Client(base_url=index.url, timeout=60) as browser,
    ):
        fields = {"username": "admin", "password": ADMIN_PASSWORD}
        fields["csrf_token"] = csrf_token(browser, "/signin")
        stop()
        # The session (kept in the database) cannot be read: the page shows no one signed in.
        for answer in (browser.get("/"), browser.post("/signin", data=fields)):
            assert answer.status_code == 503, answer.text
            assert answer.headers["content-type"].startswith("text/html")
            assert answer.headers["retry-after"].isdigit()
            assert "The database is unavailable. Try again shortly." in answer.text
        start()
        _until(lambda: browser.get("/").status_code == 200, "the pages never came back")
        assert browser.post("/signin", data=fields).status_code == 303
    assert index.server.log.read_text().count("the database is unavailable") == 1


@contextmanager
def packets_dropped(port: int) -> Iterator[None]:
    """Every packet to `port` on loopback dropped, without a reset: what a client sees of a
    server behind a network partition (the connections stay open, nothing answers)."""
    if os.geteuid() != 0 or shutil.which("iptables") is None:
        pytest.skip("dropping packets needs root and iptables")
    rule = ["INPUT", "-i", "lo", "-p", "tcp", "--dport", str(port), "-j", "DROP"]
    added = subprocess.run(["iptables", "-A", *rule], capture_output=True, text=True)
    if added.returncode != 0:
        pytest.skip(f"iptables cannot add a rule here: {added.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run(["iptables", "-D", *rule], check=True)


def test_postgresql_cut_off_without_a_word_is_503_for_requests_in_flight_too(
    tmp_path: Path,
    stoppable_database: tuple[Callable[[], None], Callable[[], None], str],
) -> None:
    _stop, _start, url = stoppable_database
    port = make_url(url).port
    assert port is not None
    with (
        dockyard_server(tmp_path / "data", env={"DOCKYARD_DATABASE__URL": url}) as server,
        httpx.Client(base_url=server.url, timeout=120) as client,
    ):
        path = f"/v2/{REPOSITORY}/blobs/{sha256(b'kept')}"
        push_blob(client, REPOSITORY, b"kept")
        with packets_dropped(port):
            # On a pooled connection, open before the cut: it waits for an answer that never
            # comes, until the kernel gives up retransmitting (a quarter of an hour) unless
            # Dockyard bounds it. The partition lasts longer than this test waits.
            answers: list[httpx.Response] = []
            waiting = threading.Thread(target=lambda: answers.append(client.head(path)))
            waiting.start()
            waiting.join(90)
            assert answers, "a request in flight was not answered while the database was away"
            (answer,) = answers
            assert answer.status_code == 503, answer.text
        _until(lambda: client.head(path).status_code == 200, "service never resumed")


def test_an_object_store_cut_off_without_a_word_is_503_for_writes_in_flight_too(
    tmp_path: Path, s3_bucket: S3Bucket
) -> None:
    port = urlsplit(s3_bucket.server.endpoint).port
    assert port is not None
    first, second = os.urandom(6 << 20), os.urandom(6 << 20)
    env = s3_bucket.environment(f"cut-{next(_seeds)}-{time.time_ns()}")
    with (
        dockyard_server(tmp_path / "data", env=env) as server,
        httpx.Client(base_url=server.url, timeout=600) as client,
    ):
        started = client.post(f"/v2/{REPOSITORY}/blobs/uploads/")
        chunk = {"Content-Type": "application/octet-stream"}
        sent = client.patch(started.headers["location"], content=first, headers=chunk)
        assert sent.status_code == 202, sent.text
        location = sent.headers["location"]
        with packets_dropped(port):
            # Its part is written on a connection to the store that the kernel would keep
            # retransmitting on for a quarter of an hour. The cut lasts longer than this waits.
            answers: list[httpx.Response] = []
            writing = threading.Thread(
                target=lambda: answers.append(client.patch(location, content=second, headers=chunk))
            )
            writing.start()
            writing.join(300)
            assert answers, "a chunk in flight was not answered while the store was away"
            (answer,) = answers
            assert answer.status_code == 503, answer.text
        # Back: the upload goes on from what it holds, and the blob is whole.
        held = client.get(location)
        assert held.status_code == 204 and held.headers["range"] == f"0-{len(first) - 1}"
        resumed = client.patch(location, content=second, headers=chunk)
        assert resumed.status_code == 202, resumed.text
        digest = sha256(first + second)
        done = client.put(resumed.headers["location"], params={"digest": digest})
        assert done.status_code == 201, done.text
        blob = client.get(f"/v2/{REPOSITORY}/blobs/{digest}", follow_redirects=True)
        assert blob.content == first + second


@contextlib.contextmanager
def on_azurite_behind_a_proxy(
    tmp_path: Path, azurite: Azurite, env: dict[str, str] | None = None
) -> Iterator[tuple[TcpProxy, httpx.Client]]:
    """A Dockyard on Azurite (a store reached through opendal: the registry streams its blobs
    itself) through a proxy that can cut it off or silence it, holding the blob b"kept"; a
    client of the Dockyard."""
    store = urlsplit(azurite.endpoint)
    with tcp_proxy(store.netloc) as proxy:
        settings = azurite.storage(f"away-{next(_seeds)}-{time.time_ns()}", 1 << 20)
        assert settings.azure is not None
        settings.azure.endpoint = f"{proxy.url}{store.path}"
        with (
            dockyard_server(
                tmp_path / "data", env={**environment(settings), **(env or {})}
            ) as server,
            httpx.Client(base_url=server.url, timeout=60) as client,
        ):
            push_blob(client, REPOSITORY, b"kept")
            yield proxy, client


KEPT = f"/v2/{REPOSITORY}/blobs/{sha256(b'kept')}"


def test_a_blob_read_from_a_store_that_is_away_is_503_before_its_answer_starts(
    tmp_path: Path, azurite: Azurite
) -> None:
    # The store's failure at the first read came after the 200 had started: a 500 in plain
    # text.
    with on_azurite_behind_a_proxy(tmp_path, azurite) as (proxy, client):
        proxy.cut()
        away = client.get(KEPT)
        assert away.status_code == 503, away.text
        assert away.json()["errors"][0]["code"] == "UNAVAILABLE"
        proxy.restore()
        _until(lambda: client.get(KEPT).status_code == 200, "the store came back unseen")
        assert client.get(KEPT).content == b"kept"


def test_an_object_store_that_takes_connections_and_says_nothing_is_503_after_its_timeout(
    tmp_path: Path, azurite: Azurite
) -> None:
    # Frozen (its kernel still takes connections): a blob's GET waited for as long as the
    # client did, a chunk's PATCH too.
    quick = {"DOCKYARD_STORAGE__TIMEOUT_SECONDS": "1"}
    with on_azurite_behind_a_proxy(tmp_path, azurite, quick) as (proxy, client):
        location = client.post(f"/v2/{REPOSITORY}/blobs/uploads/").headers["location"]
        proxy.silence()
        chunk = {"Content-Type": "application/octet-stream"}
        for answer in (client.get(KEPT), client.patch(location, content=b"x", headers=chunk)):
            assert answer.status_code == 503, answer.text
            assert answer.json()["errors"][0]["code"] == "UNAVAILABLE"
        proxy.restore()
        _until(lambda: client.get(KEPT).status_code == 200, "the store came back unseen")
        assert client.get(KEPT).content == b"kept"


@dataclass
class SmallDisk:
    """A tmpfs of its own, which `fill` fills to the last byte and `empty` empties again."""

    path: Path

    def fill(self) -> None:
        with (self.path / "filler").open("wb", buffering=0) as filler, contextlib.suppress(OSError):
            while True:
                filler.write(b"\0" * 65536)

    def empty(self) -> None:
        (self.path / "filler").unlink()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    path = tmp_path / "small-disk"
    path.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"a tmpfs cannot be mounted here: {mounted.stderr.strip()}")
    try:
        yield SmallDisk(path)
    finally:
        subprocess.run(["umount", "--lazy", str(path)], check=True)


@pytest.mark.parametrize("dependency", ["storage", "database"])
def test_a_full_disk_is_503_until_there_is_room_again_and_nothing_is_lost(
    tmp_path: Path, small_disk: SmallDisk, dependency: str
) -> None:
    # The storage's files or the SQLite database on a disk that fills up (the log beside the
    # data directory, on the roomy disk): a write that finds no room is the disk's failure,
    # not the client's, and one that is refused leaves nothing half written behind.
    data = tmp_path / "data"
    storage, database = data / "storage", data / "registry.db"
    if dependency == "storage":
        storage = small_disk.path / "storage"
        env = {"DOCKYARD_STORAGE__ROOT": str(storage)}
    else:
        database = small_disk.path / "registry.db"
        env = {"DOCKYARD_DATABASE__URL": f"sqlite:///{database}"}
    with dockyard_server(data, env=env) as server:
        load = _outage(server, small_disk.fill, small_disk.empty)
        _check(load, server, dependency)
    # No piece of an upload in storage outlives its session: a piece is one its session
    # recorded, or one written before the database refused to record it, left in the
    # directory of its session, which goes with the session (finished, cancelled or purged).
    # Deleting it then could delete a piece whose record did commit (a lost connection's
    # commit is of unknown outcome).
    with contextlib.closing(sqlite3.connect(database)) as connection:
        recorded = {key for (key,) in connection.execute("SELECT storage_key FROM upload_pieces")}
        sessions = {upload_id for (upload_id,) in connection.execute("SELECT id FROM uploads")}
    pieces = {str(path.relative_to(storage)) for path in storage.glob("uploads/*/*")}
    orphans = {piece for piece in pieces - recorded if piece.split("/")[1] not in sessions}
    assert not orphans, orphans
    checked = subprocess.run(
        [sys.executable, "-m", "dockyard.cli", "fsck", "--data", str(data)],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
    )
    assert checked.returncode == 0 and " 0 problems" in checked.stdout, checked
