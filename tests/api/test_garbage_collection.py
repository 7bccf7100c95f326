"""Online garbage collection and `dockyard fsck`: what no repository uses goes, and its space
comes back; what a manifest needs stays; a dry run lists exactly what a run deletes; fsck
finds planted damage and repairs only the garbage."""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import time
import uuid
from datetime import timedelta
from pathlib import Path

import httpx

from dockyard.db.engine import Database
from dockyard.db.migrate import upgrade
from dockyard.registry.collection.collector import LEASE
from dockyard.registry.collection.queries import take_lease
from dockyard.registry.metadata import now
from tests.support.api import patch_chunk, start_upload
from tests.support.collection import NO_GRACE, dockyard, stored_bytes
from tests.support.images import OCI_INDEX, make_image, push_image, push_manifest, sha256
from tests.support.seaweedfs import S3Bucket
from tests.support.seaweedfs import client as s3_client
from tests.support.servers import dockyard_server

# How long another process holds the lease in the --wait test.
LEASE_HELD_SECONDS = 15


def blob_key(digest: str) -> str:
    hex_part = digest.split(":", 1)[1]
    return f"blobs/sha256/{hex_part[:2]}/{hex_part}"


def blob_path(data_dir: Path, digest: str) -> Path:
    return data_dir / "storage" / blob_key(digest)


def test_a_deleted_image_is_collected_and_its_space_comes_back(data_dir: Path) -> None:
    kept, doomed = make_image("kept"), make_image("doomed", layers=3)
    shared_layer = kept.layers[0]
    doomed.layers[0] = shared_layer  # a layer both images use stays
    with dockyard_server(data_dir, env=NO_GRACE) as server, httpx.Client(base_url=server.url) as c:
        push_image(c, "gc/kept", kept)
        push_image(c, "gc/doomed", doomed)
        files_before, bytes_before = stored_bytes(data_dir / "storage")
        assert c.delete(f"/v2/gc/doomed/manifests/{doomed.digest}").status_code == 202
        dry = dockyard("gc", data_dir, {}, "--dry-run")
        assert dry.status == 0, dry.stderr
        real = dockyard("gc", data_dir, {})
        assert real.status == 0, real.stderr
        gone = {sha256(blob) for blob in (doomed.config, *doomed.layers[1:])}
        assert real.deleted() == dry.deleted() == {f"blob {digest}" for digest in gone}, dry.lines
        freed = sum(len(blob) for blob in (doomed.config, *doomed.layers[1:]))
        assert f"reclaimed {freed} bytes" in real.lines[-1]
        files_after, bytes_after = stored_bytes(data_dir / "storage")
        assert (files_before - files_after, bytes_before - bytes_after) == (3, freed)
        for digest in gone:
            assert not blob_path(data_dir, digest).exists()
        for blob in (kept.config, *kept.layers):
            assert c.get(f"/v2/gc/kept/blobs/{sha256(blob)}").content == blob
        assert dockyard("gc", data_dir, {}).deleted() == set()  # nothing more
        assert dockyard("fsck", data_dir, {}).status == 0


def test_a_blob_a_manifest_references_stays_after_its_link_is_deleted(data_dir: Path) -> None:
    image = make_image("referenced")
    with dockyard_server(data_dir, env=NO_GRACE) as server, httpx.Client(base_url=server.url) as c:
        push_image(c, "gc/ref", image)
        layer = sha256(image.layers[0])
        assert c.delete(f"/v2/gc/ref/blobs/{layer}").status_code == 202
        assert dockyard("gc", data_dir, {}).deleted() == set()
        assert blob_path(data_dir, layer).exists()


def test_deleting_a_repository_through_v1_frees_what_only_it_used(data_dir: Path) -> None:
    image = make_image("v1-repo")
    with dockyard_server(data_dir, env=NO_GRACE) as server, httpx.Client(base_url=server.url) as c:
        push_image(c, "gc/v1", image)
        assert c.delete("/v1/repositories/gc/v1/").status_code in (200, 202)
        deleted = dockyard("gc", data_dir, {}).deleted()
        assert deleted == {f"blob {sha256(b)}" for b in (image.config, *image.layers)}


def test_untagged_manifests_go_after_their_age_but_not_a_tagged_index_s_children(
    data_dir: Path,
) -> None:
    env = {**NO_GRACE, "DOCKYARD_REGISTRY__GC__UNTAGGED": "delete",
           "DOCKYARD_REGISTRY__GC__UNTAGGED_AFTER_HOURS": "0"}  # fmt: skip
    child, loose, signed = make_image("child"), make_image("loose"), make_image("signed")
    with dockyard_server(data_dir, env=env) as server, httpx.Client(base_url=server.url) as c:
        for image in (child, loose, signed):
            push_image(c, "gc/untagged", image, tag="t")
        index = json.dumps({
            "schemaVersion": 2, "mediaType": OCI_INDEX,
            "manifests": [{"mediaType": child.media_type, "digest": child.digest,
                           "size": len(child.manifest)}],
        }).encode()  # fmt: skip
        push_manifest(c, "gc/untagged", "index", index, OCI_INDEX)
        # A signature of `signed`: an untagged referrer of a tagged subject.
        signature = make_image("signature", layers=1, extra={"subject": {
            "mediaType": signed.media_type, "digest": signed.digest,
            "size": len(signed.manifest)}})  # fmt: skip
        push_image(c, "gc/untagged", signature, tag=signature.digest)
        assert c.delete("/v2/gc/untagged/manifests/t").status_code == 202  # untags `signed`
        push_manifest(c, "gc/untagged", "t", signed.manifest, signed.media_type)
        # Now untagged: child (listed by the tagged index), loose, signature's... none else.
        outcome = dockyard("gc", data_dir, env)
        manifests = {line for line in outcome.deleted() if line.startswith("manifest ")}
        assert manifests == {f"manifest gc/untagged@{loose.digest}"}
        assert c.get(f"/v2/gc/untagged/manifests/{child.digest}").status_code == 200
        assert c.get(f"/v2/gc/untagged/manifests/{signature.digest}").status_code == 200
        assert c.get(f"/v2/gc/untagged/manifests/{loose.digest}").status_code == 404
        assert f"blob {sha256(loose.config)}" in outcome.deleted()


def test_leftovers_of_interrupted_work_are_collected(data_dir: Path) -> None:
    with dockyard_server(data_dir, env=NO_GRACE) as server, httpx.Client(base_url=server.url) as c:
        location = start_upload(c, "gc/leftover")
        assert patch_chunk(c, location, b"z" * 100, 0).status_code == 202
    storage = data_dir / "storage"
    stray_blob = b"no row names me"
    stray = blob_path(data_dir, sha256(stray_blob))
    stray.parent.mkdir(parents=True, exist_ok=True)
    stray.write_bytes(stray_blob)
    partial = stray.parent / f".{stray.name}.0123.partial"
    partial.write_bytes(b"half")
    dead_upload = storage / "uploads" / "00000000-dead-0000-0000-000000000000" / "piece"
    dead_upload.parent.mkdir(parents=True)
    dead_upload.write_bytes(b"pieces")
    live_uploads = set((storage / "uploads").iterdir()) - {dead_upload.parent}
    outcome = dockyard("gc", data_dir, {})
    assert outcome.status == 0, outcome.stderr
    assert not stray.exists() and not partial.exists() and not dead_upload.parent.exists()
    assert set((storage / "uploads").iterdir()) == live_uploads  # the session's bytes stay
    kinds = sorted(line.split()[0] for line in outcome.deleted())
    assert kinds == ["orphan", "partial", "upload"]


def test_fsck_finds_planted_damage_and_repairs_only_the_garbage(data_dir: Path) -> None:
    used, unused = make_image("used"), make_image("unused")
    with dockyard_server(data_dir, env=NO_GRACE) as server, httpx.Client(base_url=server.url) as c:
        push_image(c, "fsck/used", used)
        push_image(c, "fsck/unused", unused)
        assert c.delete(f"/v2/fsck/unused/manifests/{unused.digest}").status_code == 202
        for blob in (unused.config, *unused.layers):
            assert c.delete(f"/v2/fsck/unused/blobs/{sha256(blob)}").status_code == 202
    assert dockyard("fsck", data_dir, {}).status == 0
    flipped = blob_path(data_dir, sha256(used.layers[0]))
    original = flipped.read_bytes()
    flipped.write_bytes(bytes([original[0] ^ 1]) + original[1:])
    blob_path(data_dir, sha256(used.layers[1])).unlink()
    blob_path(data_dir, sha256(unused.layers[0])).unlink()  # garbage anyway
    stray = blob_path(data_dir, sha256(b"stray"))
    stray.write_bytes(b"stray") if stray.parent.exists() else None
    stray.parent.mkdir(parents=True, exist_ok=True)
    stray.write_bytes(b"stray")
    found = dockyard("fsck", data_dir, {})
    assert found.status == 1
    text = "\n".join(found.lines)
    assert f"corrupt {sha256(used.layers[0])}" in text
    assert f"missing-object {sha256(used.layers[1])}" in text
    assert f"fsck/used@{used.digest}" in text  # what the damage affects
    assert f"missing-object {sha256(unused.layers[0])}" in text
    assert "stray-object blobs/sha256/" in text
    repaired = dockyard("fsck", data_dir, {}, "--repair")
    lines = "\n".join(repaired.lines)
    assert f"missing-object {sha256(unused.layers[0])}: " in lines
    assert "[repaired]" in lines
    assert not stray.exists()
    assert flipped.exists()  # a manifest needs it: reported, never deleted
    again = dockyard("fsck", data_dir, {})
    problems = [line for line in again.lines if not line.startswith("checked ")]
    assert sorted(line.split()[0] for line in problems) == ["corrupt", "missing-object"]
    assert hashlib.sha256(flipped.read_bytes()).hexdigest() != sha256(used.layers[0])


def leave_incomplete_multipart_upload(bucket: S3Bucket, key: str) -> None:
    """A multipart upload begun with one part and never completed: what a process killed
    while composing a blob leaves in the bucket (invisible to listings of objects)."""

    async def begin() -> None:
        async with s3_client(bucket.server) as s3:
            begun = await s3.create_multipart_upload(Bucket=bucket.name, Key=key)
            await s3.upload_part(
                Bucket=bucket.name, Key=key, UploadId=begun["UploadId"], PartNumber=1,
                Body=b"m" * (5 * 1024 * 1024),
            )  # fmt: skip

    asyncio.run(begin())


def put_object(bucket: S3Bucket, key: str, data: bytes) -> None:
    async def put() -> None:
        async with s3_client(bucket.server) as s3:
            await s3.put_object(Bucket=bucket.name, Key=key, Body=data)

    asyncio.run(put())


def test_on_s3_the_objects_and_bytes_of_a_deleted_image_leave_the_bucket(
    data_dir: Path, s3_bucket: S3Bucket
) -> None:
    prefix = f"gc-space-{uuid.uuid4().hex[:8]}"
    env = {
        **NO_GRACE,
        **s3_bucket.environment(prefix, part_size=str(5 * 1024 * 1024), redirect="false"),
        "DOCKYARD_REGISTRY__GC__INCOMPLETE_UPLOADS_AFTER_HOURS": "0",
    }
    kept, doomed = make_image("s3-kept"), make_image("s3-doomed", layers=3)
    doomed.layers[0] = kept.layers[0]  # shared: stays
    doomed.layers[1] = random.Random(5).randbytes(12 * 1024 * 1024)  # composed of parts
    with dockyard_server(data_dir, env=env) as server, httpx.Client(base_url=server.url) as c:
        push_image(c, "gc/s3-kept", kept)
        location = start_upload(c, "gc/s3-doomed")
        for start in range(0, len(doomed.layers[1]), 6 * 1024 * 1024):
            chunk = doomed.layers[1][start : start + 6 * 1024 * 1024]
            location = patch_chunk(c, location, chunk, start).headers["location"]
        assert c.put(location, params={"digest": sha256(doomed.layers[1])}).status_code == 201
        push_image(c, "gc/s3-doomed", doomed)
        assert c.delete(f"/v2/gc/s3-doomed/manifests/{doomed.digest}").status_code == 202
        # Leftovers of interrupted work: an object no row names, an upload's piece no
        # session names, a multipart upload a killed compose never completed.
        stray = b"an interrupted finish's object"
        stray_key = f"{prefix}/blobs/sha256/{sha256(stray)[7:9]}/{sha256(stray)[7:]}"
        put_object(s3_bucket, stray_key, stray)
        piece_key = f"{prefix}/uploads/{uuid.uuid4()}/piece-0"
        put_object(s3_bucket, piece_key, b"p" * 1000)
        leave_incomplete_multipart_upload(s3_bucket, f"{prefix}/blobs/sha256/ab/{'ab' * 32}")
        before = s3_bucket.objects(f"{prefix}/")
        assert len(s3_bucket.multipart_uploads(f"{prefix}/")) == 1
        time.sleep(1.1)  # older than "now" to the second, as S3 dates them
        outcome = dockyard("gc", data_dir, env)
        assert outcome.status == 0, outcome.stderr
        after = s3_bucket.objects(f"{prefix}/")
        gone_blobs = (doomed.config, *doomed.layers[1:])
        expected = {f"{prefix}/{blob_key(sha256(blob))}" for blob in gone_blobs}
        expected |= {stray_key, piece_key}
        assert set(before) - set(after) == expected
        assert set(after) <= set(before)
        freed = sum(len(blob) for blob in gone_blobs)
        assert sum(before.values()) - sum(after.values()) == freed + len(stray) + 1000
        assert s3_bucket.multipart_uploads(f"{prefix}/") == []
        assert "1 incomplete multipart uploads" in outcome.lines[-1]
        assert f"reclaimed {freed + len(stray) + 1000} bytes" in outcome.lines[-1]
        print(
            f"\nS3: {len(before)} objects ({sum(before.values())} bytes) and 1 incomplete "
            f"multipart upload before, {len(after)} objects ({sum(after.values())} bytes) and "
            "none after"
        )
        for blob in (kept.config, *kept.layers):
            assert c.get(f"/v2/gc/s3-kept/blobs/{sha256(blob)}").content == blob
        assert dockyard("fsck", data_dir, env).status == 0


def test_gc_refuses_while_another_process_collects_and_with_wait_runs_once_it_is_done(
    data_dir: Path,
) -> None:
    """Another process holds the collection's lease (as a server's scheduled run does):
    `dockyard gc` says so and exits 1; `dockyard gc --wait` runs once the lease is let go
    (here: once it runs out, as a killed collector's does). The lease is held long enough for
    the first command to start on a slow machine (3 s was not: it started after)."""
    data_dir.mkdir(parents=True)
    database = Database(f"sqlite:///{data_dir / 'registry.db'}")
    upgrade(database.engine)
    held = now()
    until = held + timedelta(seconds=LEASE_HELD_SECONDS)
    with database.engine.begin() as connection:
        taken = take_lease(connection, LEASE, "another-process", held, until)
    database.dispose()
    assert taken
    refused = dockyard("gc", data_dir, {})
    assert now() < until, "the command started only after the lease ran out"
    assert refused.status == 1
    assert "another process is collecting garbage now" in refused.stderr
    waited = dockyard("gc", data_dir, {}, "--wait", "60")
    assert waited.status == 0, waited.stderr
    assert now() >= until  # it ran only once the lease had run out


def test_maintenance_commands_refuse_a_data_directory_without_a_registry(
    tmp_path: Path,
) -> None:
    """A mistyped --data makes no empty registry there, and no report of nothing done."""
    typo = tmp_path / "typo"
    for command, flags in (("gc", ()), ("fsck", ()), ("usage", ()), ("quota", ("alice",)),
                           ("retention", ()), ("events", ()), ("replication", ())):  # fmt: skip
        refused = dockyard(command, typo, {}, *flags)
        assert refused.status == 2, (command, refused)
        assert f"no registry at {typo}" in refused.stderr, (command, refused)
        assert not typo.exists(), command


def test_gc_refuses_a_wait_that_is_not_a_number_of_seconds(data_dir: Path) -> None:
    for bad in ("nan", "-1", "soon", "inf"):
        refused = dockyard("gc", data_dir, {}, "--wait", bad)
        assert refused.status == 2, bad
        assert "--wait" in refused.stderr, refused.stderr
